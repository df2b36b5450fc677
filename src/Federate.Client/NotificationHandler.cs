using Federate.Core;

namespace Federate.Client;

/// <summary>
/// Handles design 4's lifecycle notifications, whether they arrive in the task stream or as HTTP POSTs to a
/// <see cref="NotificationListener"/>. An exception from a handler is logged (and answered 500 over HTTP).
/// </summary>
public interface INotificationHandler
{
    /// <summary>TRAINING_START {global_model_uuid} (HTTP 200).</summary>
    Task OnTrainingStartAsync(LifecycleNotification notification, CancellationToken cancellationToken);

    /// <summary>UPDATE_ROUND_START {round, global_model_uuid} (HTTP 202: training starts in the background).</summary>
    Task OnUpdateRoundStartAsync(LifecycleNotification notification, CancellationToken cancellationToken);

    /// <summary>MODEL_TEST_ROUND {round, global_model_uuid} (HTTP 202).</summary>
    Task OnModelTestRoundAsync(LifecycleNotification notification, CancellationToken cancellationToken);

    /// <summary>TRAINING_FINISHED {global_model_uuid} (HTTP 200).</summary>
    Task OnTrainingFinishedAsync(LifecycleNotification notification, CancellationToken cancellationToken);

    /// <summary>Any other type; returns the HTTP status to answer.</summary>
    Task<int> OnUnknownAsync(LifecycleNotification notification, CancellationToken cancellationToken);
}

/// <summary>A handler that ignores the four known events and answers 400 to unknown types; override what you need.</summary>
public class NotificationHandler : INotificationHandler
{
    /// <inheritdoc />
    public virtual Task OnTrainingStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task OnUpdateRoundStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task OnModelTestRoundAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task OnTrainingFinishedAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task<int> OnUnknownAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.FromResult(400);
}

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
