namespace Federate.Core.Running;

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
