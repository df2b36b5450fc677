using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Federate.Core.Diagnostics;

/// <summary>
/// Federate's telemetry sources, named after OpenTelemetry's conventions. Subscribe with
/// <c>AddMeter(FederateDiagnostics.MeterName)</c> and <c>AddSource(FederateDiagnostics.ActivitySourceName)</c>.
/// </summary>
/// <remarks>
/// <para>Metrics (instrument, unit, attributes → Prometheus series):</para>
/// <list type="bullet">
/// <item><c>federate.rounds</c> ({round}) → <c>federate_rounds_total</c>: rounds completed.</item>
/// <item><c>federate.round.duration</c> (s) → <c>federate_round_duration_seconds</c>: a round, from waiting for nodes to its last stage.</item>
/// <item><c>federate.stage.duration</c> (s, <c>federate.stage</c>) → <c>federate_stage_duration_seconds</c>: a round's stage (train, evaluate, ...).</item>
/// <item><c>federate.aggregation.duration</c> (s) → <c>federate_aggregation_duration_seconds</c>: completing the train aggregate after the last reply.</item>
/// <item><c>federate.node.replies</c> ({reply}, <c>federate.stage</c>) → <c>federate_node_replies_total</c>: successful node replies.</item>
/// <item><c>federate.node.failures</c> ({failure}, <c>federate.stage</c>, <c>error.type</c>) → <c>federate_node_failures_total</c>: failed node tasks by reason code.</item>
/// <item><c>federate.privacy.epsilon</c> (1, <c>federate.privacy.level</c> = sample | user) → <c>federate_privacy_epsilon</c>: cumulative privacy loss reported by the last round.</item>
/// <item>On a server: <c>federate.nodes.connected</c> ({node}) → <c>federate_nodes_connected</c>, and <c>federate.network.io</c>
/// (By, <c>network.io.direction</c> = receive | transmit) → <c>federate_network_io_bytes_total</c>: tensor bytes exchanged with nodes.</item>
/// </list>
/// <para>Traces: <c>federate.run</c> ⊃ <c>federate.round</c> ⊃ <c>federate.stage</c> ⊃ <c>federate.node.task</c> (one per
/// instruction sent to a node, ended by its reply), with attributes <c>federate.run.id</c>, <c>federate.strategy</c>,
/// <c>federate.round</c>, <c>federate.stage</c> and <c>federate.node.id</c>.</para>
/// </remarks>
public static class FederateDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/>: "Federate".</summary>
    public const string MeterName = "Federate";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/>: "Federate".</summary>
    public const string ActivitySourceName = "Federate";

    private static readonly string? Version = typeof(FederateDiagnostics).Assembly.GetName().Version?.ToString();

    /// <summary>The meter every Federate instrument belongs to (run driver, server).</summary>
    public static Meter Meter { get; } = new(MeterName, Version);

    /// <summary>The source of Federate's activities (run, round, stage, node task).</summary>
    public static ActivitySource ActivitySource { get; } = new(ActivitySourceName, Version);
}
