namespace Federate.Core.Strategies;

/// <summary>
/// A strategy whose behaviour depends on state carried across rounds (server optimizer moments, privacy
/// accountants). Tensor state (moments) is saved separately, as safetensors (<see cref="Strategies.ITensorStateStrategy"/>).
/// Checkpoints save <see cref="ExportState"/> after each round; a resumed run calls
/// <see cref="ImportState"/> before its first round so it continues exactly as an uninterrupted run.
/// </summary>
public interface IStatefulStrategy
{
    /// <summary>The state as JSON (doubles and floats in round-trip form, so a restore is exact).</summary>
    string ExportState();

    /// <summary>Restores state written by <see cref="ExportState"/>; <see cref="FormatException"/> when invalid.</summary>
    void ImportState(string json);
}
