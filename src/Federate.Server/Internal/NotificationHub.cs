namespace Federate.Server.Internal;

/// <summary>
/// Produces design 4's lifecycle notifications with a new global_model_uuid per global model version, and hands
/// them to connected nodes (their task streams) and to the webhook sender. Never blocks a round.
/// </summary>
internal sealed class NotificationHub(string runId, NodeRegistry registry, WebhookSender? webhooks)
{
    private readonly Lock _lock = new();
    private ArrayRecord? _model;
    private string _modelUuid = Guid.NewGuid().ToString();

    public string UuidFor(ArrayRecord global)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(global, _model))
            {
                _model = global;
                _modelUuid = Guid.NewGuid().ToString();
            }

            return _modelUuid;
        }
    }

    public void Publish(string type, int? round, ArrayRecord global)
    {
        var notification = LifecycleNotification.Create(type, runId, round, UuidFor(global));
        registry.Broadcast(new OutboundNotification(notification));
        webhooks?.Enqueue(notification);
    }
}
