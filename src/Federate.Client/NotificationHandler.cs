namespace Federate.Client;

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
