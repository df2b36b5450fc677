using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// A client mod that enforces a site's privacy budget: it refuses a train instruction whose training would raise the
/// client's cumulative epsilon above the budget, answering an error reply with code "privacy_budget" and a one-line
/// reason. Other instructions pass through.
/// </summary>
public static class PrivacyBudgetMod
{
    /// <summary>
    /// Creates the mod. <paramref name="projectEpsilon"/> returns the cumulative epsilon the client would have after
    /// handling the train instruction (null when it would spend nothing, e.g. DP is off).
    /// </summary>
    public static ClientMod Create(double maxEpsilon, Func<Message, double?> projectEpsilon)
    {
        if (!(maxEpsilon > 0) || double.IsNaN(maxEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(maxEpsilon), maxEpsilon, "--max-epsilon must be a positive number.");
        }

        ArgumentNullException.ThrowIfNull(projectEpsilon);
        return (message, next, cancellationToken) =>
        {
            if (message.Metadata.MessageType == MessageType.Train && projectEpsilon(message) is { } projected && projected > maxEpsilon)
            {
                var reason = string.Create(CultureInfo.InvariantCulture, $"privacy budget: training round {message.Metadata.Round} would raise this client's epsilon to {projected:0.####}, above its budget --max-epsilon {maxEpsilon}; refusing");
                return ValueTask.FromResult(message.CreateErrorReply(new MessageError(PrivacyNames.BudgetCode, reason)));
            }

            return next(message, cancellationToken);
        };
    }
}
