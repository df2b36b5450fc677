using System.Collections;

namespace Federate.Core.Records;

/// <summary>
/// The shared shape of <see cref="ArrayRecord"/>, <see cref="ConfigRecord"/> and <see cref="MetricRecord"/>: values
/// under ordinal string keys, enumerated in insertion order.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
public abstract class OrderedRecord<TValue> : IEnumerable<KeyValuePair<string, TValue>>
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, TValue> _values = new(StringComparer.Ordinal);

    /// <summary>Creates an empty record.</summary>
    protected OrderedRecord()
    {
    }

    /// <summary>Creates a record holding a copy of <paramref name="values"/>; a repeated key keeps its first position.</summary>
    protected OrderedRecord(IEnumerable<KeyValuePair<string, TValue>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (key, value) in values)
        {
            Set(key, value);
        }
    }

    /// <summary>Number of entries.</summary>
    public int Count => _order.Count;

    /// <summary>Keys in insertion order.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>True when the key is present.</summary>
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <summary>Looks up a value.</summary>
    public bool TryGetValue(string key, out TValue value) => _values.TryGetValue(key, out value!);

    /// <summary>The value under <paramref name="key"/>; a missing key throws with <see cref="DescribeMissing"/>.</summary>
    protected TValue Get(string key) => _values.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(DescribeMissing(key));

    /// <summary>Sets a value; a new key goes at the end, an existing key keeps its position.</summary>
    protected void Set(string key, TValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!_values.ContainsKey(key))
        {
            _order.Add(key);
        }

        _values[key] = value;
    }

    /// <summary>Adds a value at the end; false, and nothing changes, when the key is already present.</summary>
    protected bool TryAdd(string key, TValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!_values.TryAdd(key, value))
        {
            return false;
        }

        _order.Add(key);
        return true;
    }

    /// <summary>The message of the <see cref="KeyNotFoundException"/> for a missing key.</summary>
    protected abstract string DescribeMissing(string key);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator()
    {
        foreach (var key in _order)
        {
            yield return new KeyValuePair<string, TValue>(key, _values[key]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
