namespace Federate.Core.Running;

/// <summary>The final model and history of a run.</summary>
/// <param name="Parameters">The final global model.</param>
/// <param name="History">Rounds and stop reason.</param>
public sealed record RunResult(ArrayRecord Parameters, RunHistory History);
