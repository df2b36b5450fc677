namespace Federate.Core.Records;

/// <summary>Ordered string-to-scalar settings sent with a message (e.g. a round's train config).</summary>
public sealed class ConfigRecord : OrderedRecord<ConfigValue>
{
    /// <summary>Creates an empty record.</summary>
    public ConfigRecord()
    {
    }

    /// <summary>Creates a record holding a copy of <paramref name="values"/>.</summary>
    public ConfigRecord(IEnumerable<KeyValuePair<string, ConfigValue>> values)
        : base(values)
    {
    }

    /// <summary>Gets or sets a value; setting an existing key keeps its position.</summary>
    public ConfigValue this[string key]
    {
        get => Get(key);
        set => Set(key, value);
    }

    /// <summary>The value as a long, or <paramref name="fallback"/> when absent.</summary>
    public long GetLong(string key, long fallback) => TryGetValue(key, out var v) ? v.AsLong() : fallback;

    /// <summary>The value as a double, or <paramref name="fallback"/> when absent.</summary>
    public double GetDouble(string key, double fallback) => TryGetValue(key, out var v) ? v.AsDouble() : fallback;

    /// <summary>The value as a bool, or <paramref name="fallback"/> when absent.</summary>
    public bool GetBool(string key, bool fallback) => TryGetValue(key, out var v) ? v.AsBool() : fallback;

    /// <summary>The value as a string, or <paramref name="fallback"/> when absent.</summary>
    public string? GetString(string key, string? fallback) => TryGetValue(key, out var v) ? v.AsString() : fallback;

    /// <summary>A shallow copy (values are immutable scalars).</summary>
    public ConfigRecord Clone() => new(this);

    /// <summary>A copy with <paramref name="key"/> set to <paramref name="value"/> (this record is left as it is).</summary>
    public ConfigRecord With(string key, ConfigValue value)
    {
        var copy = Clone();
        copy[key] = value;
        return copy;
    }

    /// <inheritdoc />
    protected override string DescribeMissing(string key) => $"The config has no key '{key}'.";
}
