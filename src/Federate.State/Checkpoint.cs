namespace Federate.State;

/// <summary>A checkpoint that passed its SHA-256 check.</summary>
/// <param name="Round">The round it was taken after.</param>
/// <param name="Parameters">The global model after that round.</param>
/// <param name="StrategyState">The strategy's state after that round (null when it keeps none).</param>
/// <param name="Rounds">The history's rounds 1..Round.</param>
/// <param name="StateTensorsPath">
/// The strategy's state tensors after that round (server-optimizer moments; a safetensors file that passed its SHA-256
/// check), null when it keeps none; restore with <see cref="StrategyState.ImportTensors"/>.
/// </param>
public sealed record Checkpoint(int Round, ArrayRecord Parameters, string? StrategyState, IReadOnlyList<RoundRecord> Rounds, string? StateTensorsPath = null);
