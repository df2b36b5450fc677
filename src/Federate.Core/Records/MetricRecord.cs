namespace Federate.Core.Records;

/// <summary>Ordered metric name to value (names in lower snake case: loss, accuracy, f1, num_examples, ...).</summary>
public sealed class MetricRecord : OrderedRecord<double>
{
    /// <summary>Creates an empty record.</summary>
    public MetricRecord()
    {
    }

    /// <summary>Creates a record holding a copy of <paramref name="values"/>.</summary>
    public MetricRecord(IEnumerable<KeyValuePair<string, double>> values)
        : base(values)
    {
    }

    /// <summary>Gets or sets a metric; setting an existing name keeps its position.</summary>
    public double this[string key]
    {
        get => Get(key);
        set => Set(key, value);
    }

    /// <inheritdoc />
    protected override string DescribeMissing(string key) => $"No metric named '{key}'.";
}
