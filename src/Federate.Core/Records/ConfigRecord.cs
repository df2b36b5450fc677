using System.Collections;

namespace Federate.Core.Records;

/// <summary>Ordered string-to-scalar settings sent with a message (e.g. a round's train config).</summary>
public sealed class ConfigRecord : IEnumerable<KeyValuePair<string, ConfigValue>>
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, ConfigValue> _values = new(StringComparer.Ordinal);

    /// <summary>Creates an empty record.</summary>
    public ConfigRecord()
    {
    }

    /// <summary>Creates a record holding a copy of <paramref name="values"/>.</summary>
    public ConfigRecord(IEnumerable<KeyValuePair<string, ConfigValue>> values)
    {
        foreach (var (k, v) in values)
        {
            this[k] = v;
        }
    }

    /// <summary>Number of entries.</summary>
    public int Count => _order.Count;

    /// <summary>Keys in insertion order.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>Gets or sets a value; setting an existing key keeps its position.</summary>
    public ConfigValue this[string key]
    {
        get => _values.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"The config has no key '{key}'.");
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (!_values.ContainsKey(key))
            {
                _order.Add(key);
            }

            _values[key] = value;
        }
    }

    /// <summary>True when the key is present.</summary>
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <summary>Looks up a value.</summary>
    public bool TryGetValue(string key, out ConfigValue value) => _values.TryGetValue(key, out value);

    /// <summary>The value as a long, or <paramref name="fallback"/> when absent.</summary>
    public long GetLong(string key, long fallback) => _values.TryGetValue(key, out var v) ? v.AsLong() : fallback;

    /// <summary>The value as a double, or <paramref name="fallback"/> when absent.</summary>
    public double GetDouble(string key, double fallback) => _values.TryGetValue(key, out var v) ? v.AsDouble() : fallback;

    /// <summary>The value as a bool, or <paramref name="fallback"/> when absent.</summary>
    public bool GetBool(string key, bool fallback) => _values.TryGetValue(key, out var v) ? v.AsBool() : fallback;

    /// <summary>The value as a string, or <paramref name="fallback"/> when absent.</summary>
    public string? GetString(string key, string? fallback) => _values.TryGetValue(key, out var v) ? v.AsString() : fallback;

    /// <summary>A shallow copy (values are immutable scalars).</summary>
    public ConfigRecord Clone() => new(this);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, ConfigValue>> GetEnumerator()
    {
        foreach (var k in _order)
        {
            yield return new KeyValuePair<string, ConfigValue>(k, _values[k]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
