namespace Federate.Core.Strategies;

/// <summary>The result of folding a round's train replies.</summary>
/// <param name="Parameters">The new global model, or null to keep the current one.</param>
/// <param name="Metrics">Aggregated train metrics.</param>
public sealed record AggregateResult(ArrayRecord? Parameters, MetricRecord Metrics);
