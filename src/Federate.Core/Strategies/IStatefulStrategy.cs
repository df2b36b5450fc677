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

/// <summary>Helpers for <see cref="IStatefulStrategy"/>.</summary>
public static class StrategyState
{
    /// <summary>The state of <paramref name="strategy"/>, or null when it keeps none.</summary>
    public static string? Export(Strategy strategy) => strategy is IStatefulStrategy s ? s.ExportState() : null;

    /// <summary>Restores <paramref name="json"/> into <paramref name="strategy"/> when both exist.</summary>
    public static void Import(Strategy strategy, string? json)
    {
        if (json is not null && strategy is IStatefulStrategy s)
        {
            s.ImportState(json);
        }
    }

    /// <summary>The state tensors of <paramref name="strategy"/> (<see cref="Strategies.ITensorStateStrategy"/>); empty when it keeps none.</summary>
    public static IReadOnlyList<Strategies.StateTensor> ExportTensors(Strategy strategy) =>
        strategy is Strategies.ITensorStateStrategy s ? s.ExportTensors() : [];

    /// <summary>Restores the state tensors in the state file at <paramref name="path"/> into <paramref name="strategy"/> when both exist.</summary>
    public static void ImportTensors(Strategy strategy, string? path)
    {
        if (path is not null && strategy is Strategies.ITensorStateStrategy s)
        {
            using var file = Formats.StateTensorFile.Open(path);
            s.ImportTensors(file);
        }
    }
}
