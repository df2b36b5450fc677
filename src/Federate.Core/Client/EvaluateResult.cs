namespace Federate.Core.Client;

/// <summary>The result of <see cref="FederatedClient.Evaluate"/>.</summary>
/// <param name="Loss">Loss on local test data.</param>
/// <param name="NumExamples">Examples evaluated.</param>
/// <param name="Metrics">Other metrics (accuracy, f1, ...).</param>
public sealed record EvaluateResult(double Loss, long NumExamples, MetricRecord Metrics);
