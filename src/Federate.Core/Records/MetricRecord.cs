using System.Collections;

namespace Federate.Core.Records;

/// <summary>Ordered metric name to value (names in lower snake case: loss, accuracy, f1, num_examples, ...).</summary>
public sealed class MetricRecord : IEnumerable<KeyValuePair<string, double>>
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

    /// <summary>Creates an empty record.</summary>
    public MetricRecord()
    {
    }

    /// <summary>Creates a record holding a copy of <paramref name="values"/>.</summary>
    public MetricRecord(IEnumerable<KeyValuePair<string, double>> values)
    {
        foreach (var (k, v) in values)
        {
            this[k] = v;
        }
    }

    /// <summary>Number of metrics.</summary>
    public int Count => _order.Count;

    /// <summary>Names in insertion order.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>Gets or sets a metric; setting an existing name keeps its position.</summary>
    public double this[string key]
    {
        get => _values.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"No metric named '{key}'.");
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

    /// <summary>True when the metric is present.</summary>
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <summary>Looks up a metric.</summary>
    public bool TryGetValue(string key, out double value) => _values.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        foreach (var k in _order)
        {
            yield return new KeyValuePair<string, double>(k, _values[k]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
