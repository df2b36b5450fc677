namespace Federate.Core.Client;

/// <summary>The result of <see cref="FederatedClient.Fit"/>.</summary>
/// <param name="Parameters">The locally trained model.</param>
/// <param name="NumExamples">Examples trained on (the FedAvg weight).</param>
/// <param name="Metrics">Train metrics (loss, ...).</param>
public sealed record FitResult(ArrayRecord Parameters, long NumExamples, MetricRecord Metrics);
