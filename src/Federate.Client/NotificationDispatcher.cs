namespace Federate.Client;

/// <summary>Routes a notification to the matching handler method and picks design 4's HTTP status.</summary>
public static class NotificationDispatcher
{
    /// <summary>Calls the handler for <paramref name="notification"/>; returns 200, 202 or the unknown handler's status. Handler exceptions propagate.</summary>
    public static async Task<int> DispatchAsync(INotificationHandler handler, LifecycleNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(notification);
        Func<LifecycleNotification, CancellationToken, Task>? known = notification.NotificationType switch
        {
            NotificationTypes.TrainingStart => handler.OnTrainingStartAsync,
            NotificationTypes.UpdateRoundStart => handler.OnUpdateRoundStartAsync,
            NotificationTypes.ModelTestRound => handler.OnModelTestRoundAsync,
            NotificationTypes.TrainingFinished => handler.OnTrainingFinishedAsync,
            _ => null,
        };
        if (known is null)
        {
            return await handler.OnUnknownAsync(notification, cancellationToken).ConfigureAwait(false);
        }

        await known(notification, cancellationToken).ConfigureAwait(false);

        // Design 4: the start and finish of training are acknowledged (200), per-round notices accepted (202).
        return notification.NotificationType is NotificationTypes.UpdateRoundStart or NotificationTypes.ModelTestRound ? 202 : 200;
    }
}
