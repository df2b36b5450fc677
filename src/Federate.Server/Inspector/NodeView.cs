using Federate.Server.Internal;

namespace Federate.Server.Inspector;

/// <summary>A node as the inspector shows it, including nodes that are gone.</summary>
internal sealed class NodeView(FleetNode node)
{
    public FleetNode Node { get; } = node;

    public string Activity { get; set; } = "idle";

    public int RoundsDone { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset? GoneAt { get; set; }

    public MetricRecord? LastMetrics { get; set; }

    public ArrayRecord? LatestWeights { get; set; }

    public int? LatestWeightsRound { get; set; }
}
