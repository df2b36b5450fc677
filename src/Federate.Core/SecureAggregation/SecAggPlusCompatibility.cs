using Federate.Core.Privacy;

namespace Federate.Core.SecureAggregation;

/// <summary>Which strategies and privacy settings secure aggregation works with.</summary>
public static class SecAggPlusCompatibility
{
    /// <summary>
    /// The strategies that need only the weighted mean of the updates (the server never sees one update under secure
    /// aggregation, so median, trimmed mean, Krum, Bulyan and q-FedAvg cannot run).
    /// </summary>
    public static IReadOnlyList<string> Strategies { get; } = ["fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad"];

    /// <summary>A one-line problem when <paramref name="strategy"/> or <paramref name="privacy"/> cannot run under secure aggregation, or null.</summary>
    public static string? Check(string strategy, PrivacySettings? privacy)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        if (!Strategies.Contains(strategy.Trim().ToLowerInvariant()))
        {
            return $"'secagg' hides every client's update, so 'strategy' {strategy} (which needs them one by one) cannot run; use one of: {string.Join(", ", Strategies)}";
        }

        if (privacy?.CentralDp == "adaptive")
        {
            return "'secagg' works with 'central_dp' fixed (clients clip their updates, the server adds noise to the sum), not adaptive";
        }

        return null;
    }
}
