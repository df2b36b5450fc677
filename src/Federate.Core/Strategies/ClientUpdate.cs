namespace Federate.Core.Strategies;

/// <summary>One validated train reply kept by a buffering strategy.</summary>
/// <param name="NodeId">The node that sent it.</param>
/// <param name="Parameters">Its model (same layout as the global model).</param>
/// <param name="NumExamples">Its example count.</param>
/// <param name="Metrics">Its train metrics.</param>
public sealed record ClientUpdate(long NodeId, ArrayRecord Parameters, double NumExamples, MetricRecord Metrics);
