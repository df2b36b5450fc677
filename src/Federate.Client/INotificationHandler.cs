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
