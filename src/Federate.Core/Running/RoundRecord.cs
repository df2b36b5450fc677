namespace Federate.Core.Running;

/// <summary>What happened in one round.</summary>
public sealed class RoundRecord
{
    /// <summary>The round, 1-based.</summary>
    public required int Round { get; init; }

    /// <summary>Aggregated train metrics.</summary>
    public MetricRecord Train { get; init; } = new();

    /// <summary>Aggregated evaluate metrics (federated evaluation, example-weighted).</summary>
    public MetricRecord Evaluate { get; init; } = new();

    /// <summary>Train metrics that are not numbers (strings, bytes), each node's value, by node then key.</summary>
    public IReadOnlyList<NodeMetricValue> TrainValues { get; init; } = [];

    /// <summary>Evaluate metrics that are not numbers (strings, bytes), each node's value, by node then key.</summary>
    public IReadOnlyList<NodeMetricValue> EvaluateValues { get; init; } = [];

    /// <summary>Number of usable train replies.</summary>
    public int Results { get; init; }

    /// <summary>Nodes that failed in this round.</summary>
    public IReadOnlyList<RoundFailure> Failures { get; init; } = [];

    /// <summary>Wall-clock duration of the round.</summary>
    public double Seconds { get; init; }
}
