namespace Federate.Learning.Models;

/// <summary>What local training reports.</summary>
/// <param name="Loss">Mean training loss over the last epoch.</param>
/// <param name="Examples">Examples trained on (the FedAvg weight).</param>
/// <param name="Steps">Optimizer steps taken.</param>
public sealed record TrainResult(double Loss, long Examples, long Steps);
