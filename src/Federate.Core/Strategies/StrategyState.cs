namespace Federate.Core.Strategies;

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
