using Federate.Core.SecureAggregation.Internal;

namespace Federate.Core.SecureAggregation;

/// <summary>
/// Secure aggregation as round stages (Flower's <c>SecAggPlusWorkflow</c>): setup (keys), share keys (encrypted
/// Shamir shares routed through the server), collect masked vectors (train, quantize, mask; folded into one modular
/// sum) and unmask (rebuild the survivors' self masks and the dropped clients' pairwise masks, hand the weighted mean
/// to the strategy). The server sees only masked vectors and, at the end, their sum. Clients need
/// <see cref="SecAggPlusClient"/> as a mod.
/// </summary>
public static class SecAggPlusWorkflow
{
    /// <summary>The four stages that replace the train stage.</summary>
    public static IReadOnlyList<IRoundStage> CreateStages(SecAggPlusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(settings));
        }

        return [new SetupStage(settings), new ShareKeysStage(settings), new CollectMaskedStage(settings), new UnmaskStage(settings)];
    }

    /// <summary>
    /// Replaces the train stage of <paramref name="options"/> by the secure-aggregation stages (evaluation and any
    /// other stage stay where they are). Throws <see cref="ArgumentException"/> for bad settings or when the run has no
    /// train stage.
    /// </summary>
    public static void Apply(RunOptions options, SecAggPlusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(options);
        var stages = CreateStages(settings);
        int index = -1;
        for (int i = 0; i < options.Stages.Count; i++)
        {
            if (options.Stages[i] is TrainStage)
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            throw new ArgumentException("secure aggregation replaces the train stage, and the run has none", nameof(options));
        }

        options.Stages.RemoveAt(index);
        for (int i = 0; i < stages.Count; i++)
        {
            options.Stages.Insert(index + i, stages[i]);
        }
    }

    /// <summary>True when <paramref name="options"/> runs secure aggregation.</summary>
    public static bool IsApplied(RunOptions options) => options?.Stages.Any(s => s is SecAggStage) == true;
}
