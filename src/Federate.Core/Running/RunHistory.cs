namespace Federate.Core;

/// <summary>A node that did not deliver a usable reply in a round.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="Phase">"train" or "evaluate".</param>
/// <param name="Code">Short code (client_error, timeout, dropped, invalid_update, ...).</param>
/// <param name="Reason">One-line explanation.</param>
public sealed record RoundFailure(long NodeId, string Phase, string Code, string Reason);

/// <summary>What happened in one round.</summary>
public sealed class RoundRecord
{
    /// <summary>The round, 1-based.</summary>
    public required int Round { get; init; }

    /// <summary>Aggregated train metrics.</summary>
    public MetricRecord Train { get; init; } = new();

    /// <summary>Aggregated evaluate metrics (federated evaluation, example-weighted).</summary>
    public MetricRecord Evaluate { get; init; } = new();

    /// <summary>Number of usable train replies.</summary>
    public int Results { get; init; }

    /// <summary>Nodes that failed in this round.</summary>
    public IReadOnlyList<RoundFailure> Failures { get; init; } = [];

    /// <summary>Wall-clock duration of the round.</summary>
    public double Seconds { get; init; }
}

/// <summary>Why a run ended.</summary>
public static class StopReasons
{
    /// <summary>The round limit was reached.</summary>
    public const string RoundLimit = "round_limit";

    /// <summary>The threshold metric changed by less than the threshold between two rounds.</summary>
    public const string Converged = "converged";

    /// <summary>The target metric was reached.</summary>
    public const string TargetReached = "target_reached";

    /// <summary>The operator stopped the run.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>
    /// An operator ended the run through the control API (stop or reset); unlike <see cref="Cancelled"/> (Ctrl+C), the
    /// run is over and is not resumed.
    /// </summary>
    public const string OperatorStop = "operator_stop";

    /// <summary>Too few usable replies to continue.</summary>
    public const string NotEnoughResults = "not_enough_results";

    /// <summary>The next round would have exceeded the privacy budget.</summary>
    public const string PrivacyBudget = "privacy_budget";
}

/// <summary>The history of a run: its config, each round, and why it stopped.</summary>
public sealed class RunHistory
{
    /// <summary>The run id.</summary>
    public required string RunId { get; init; }

    /// <summary>The settings the run was started with (written to history.json as "config").</summary>
    public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();

    /// <summary>Completed rounds in order.</summary>
    public List<RoundRecord> Rounds { get; } = [];

    /// <summary>One of <see cref="StopReasons"/>, or null while running.</summary>
    public string? StopReason { get; set; }

    /// <summary>A sentence saying why the run stopped.</summary>
    public string? StopDetail { get; set; }

    /// <summary>The last evaluate value of a metric, if any round reported it.</summary>
    public double? LastEvaluate(string metric)
    {
        for (int i = Rounds.Count - 1; i >= 0; i--)
        {
            if (Rounds[i].Evaluate.TryGetValue(metric, out var v))
            {
                return v;
            }
        }

        return null;
    }
}
