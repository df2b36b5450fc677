namespace Federate.Client;

/// <summary>Routes a notification to the matching handler method and picks design 4's HTTP status.</summary>
public static class NotificationDispatcher
{
    /// <summary>Calls the handler for <paramref name="notification"/>; returns 200, 202 or the unknown handler's status. Handler exceptions propagate.</summary>
    public static async Task<int> DispatchAsync(INotificationHandler handler, LifecycleNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(notification);
        switch (notification.NotificationType)
        {
            case NotificationTypes.TrainingStart:
                await handler.OnTrainingStartAsync(notification, cancellationToken).ConfigureAwait(false);
                return 200;
            case NotificationTypes.UpdateRoundStart:
                await handler.OnUpdateRoundStartAsync(notification, cancellationToken).ConfigureAwait(false);
                return 202;
            case NotificationTypes.ModelTestRound:
                await handler.OnModelTestRoundAsync(notification, cancellationToken).ConfigureAwait(false);
                return 202;
            case NotificationTypes.TrainingFinished:
                await handler.OnTrainingFinishedAsync(notification, cancellationToken).ConfigureAwait(false);
                return 200;
            default:
                return await handler.OnUnknownAsync(notification, cancellationToken).ConfigureAwait(false);
        }
    }
}
