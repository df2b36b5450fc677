using Federate.Client.Internal;
using Microsoft.Extensions.Logging;

namespace Federate.Client;

/// <summary>
/// A notification handler that logs every lifecycle notification (type, training id and body) and answers unknown
/// types with 400; what <c>federate client --notify-listen</c> runs.
/// </summary>
/// <param name="logger">Where the notifications are logged.</param>
public sealed class LoggingNotificationHandler(ILogger logger) : NotificationHandler
{
    /// <inheritdoc />
    public override Task OnTrainingStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Log(notification);

    /// <inheritdoc />
    public override Task OnUpdateRoundStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Log(notification);

    /// <inheritdoc />
    public override Task OnModelTestRoundAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Log(notification);

    /// <inheritdoc />
    public override Task OnTrainingFinishedAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Log(notification);

    /// <inheritdoc />
    public override async Task<int> OnUnknownAsync(LifecycleNotification notification, CancellationToken cancellationToken)
    {
        await Log(notification).ConfigureAwait(false);
        return 400;
    }

    private Task Log(LifecycleNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        ClientLog.Notification(logger, notification.NotificationType, notification.TrainingUuid, notification.Body.ToJsonString());
        return Task.CompletedTask;
    }
}
