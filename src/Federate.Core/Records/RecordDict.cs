namespace Federate.Core.Records;

/// <summary>
/// The content of a <see cref="Message"/>: named array, config and metric records. Conventional names are in
/// <see cref="RecordNames"/>.
/// </summary>
public sealed class RecordDict
{
    /// <summary>Array records by name (e.g. "model").</summary>
    public Dictionary<string, ArrayRecord> Arrays { get; } = new(StringComparer.Ordinal);

    /// <summary>Config records by name (e.g. "config").</summary>
    public Dictionary<string, ConfigRecord> Configs { get; } = new(StringComparer.Ordinal);

    /// <summary>Metric records by name (e.g. "metrics").</summary>
    public Dictionary<string, MetricRecord> Metrics { get; } = new(StringComparer.Ordinal);

    /// <summary>A new dict holding the same records (the records themselves are shared, not copied).</summary>
    public RecordDict Copy()
    {
        var copy = new RecordDict();
        foreach (var (name, record) in Arrays)
        {
            copy.Arrays[name] = record;
        }

        foreach (var (name, record) in Configs)
        {
            copy.Configs[name] = record;
        }

        foreach (var (name, record) in Metrics)
        {
            copy.Metrics[name] = record;
        }

        return copy;
    }
}
