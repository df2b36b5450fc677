namespace Federate.TorchSharp;

/// <summary>What <see cref="TorchTrainer.Evaluate"/> measures.</summary>
/// <param name="Loss">Mean loss per example.</param>
/// <param name="Examples">Examples evaluated.</param>
/// <param name="Accuracy">Fraction of examples whose arg-max output is the label, for [examples, classes] outputs and int64 class labels; otherwise null.</param>
public sealed record TorchEvaluation(double Loss, long Examples, double? Accuracy);
