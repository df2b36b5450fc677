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
}

/// <summary>Record and metric names used by built-in strategies and client apps.</summary>
public static class RecordNames
{
    /// <summary>The model parameters.</summary>
    public const string Model = "model";

    /// <summary>The round's config.</summary>
    public const string Config = "config";

    /// <summary>A reply's metrics.</summary>
    public const string Metrics = "metrics";

    /// <summary>Number of examples a reply is based on (the FedAvg weight).</summary>
    public const string NumExamples = "num_examples";

    /// <summary>Config key carrying the round number.</summary>
    public const string ServerRound = "server_round";
}
