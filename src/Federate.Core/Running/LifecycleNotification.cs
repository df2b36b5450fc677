using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federate.Core.Running;

/// <summary>
/// A lifecycle notification in design 4's shape: <c>{"notification_type", "training_uuid", "body"}</c>, where
/// training_uuid is the run id and the body names the global model version (a new UUID per version).
/// </summary>
/// <param name="NotificationType">One of <see cref="NotificationTypes"/>, or another type.</param>
/// <param name="TrainingUuid">The run id.</param>
/// <param name="Body">The event's fields.</param>
public sealed record LifecycleNotification(string NotificationType, string TrainingUuid, JsonObject Body)
{
    /// <summary>The round in the body, when present.</summary>
    public int? Round => Body.TryGetPropertyValue("round", out var r) && r is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    /// <summary>The global model version in the body, when present.</summary>
    public string? GlobalModelUuid => Body.TryGetPropertyValue("global_model_uuid", out var u) && u is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Creates a notification whose body has an optional round and a global model UUID.</summary>
    public static LifecycleNotification Create(string type, string trainingUuid, int? round, string globalModelUuid)
    {
        var body = new JsonObject();
        if (round is { } r)
        {
            body["round"] = r;
        }

        body["global_model_uuid"] = globalModelUuid;
        return new LifecycleNotification(type, trainingUuid, body);
    }

    /// <summary>The JSON document <c>{"notification_type", "training_uuid", "body"}</c>.</summary>
    public string ToJson() => new JsonObject
    {
        ["notification_type"] = NotificationType,
        ["training_uuid"] = TrainingUuid,
        ["body"] = JsonNode.Parse(Body.ToJsonString()),
    }.ToJsonString();

    /// <summary>Parses design 4's JSON; throws <see cref="JsonException"/> with a one-line message when malformed.</summary>
    public static LifecycleNotification Parse(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a notification must be a JSON object");
        var type = node["notification_type"] is JsonValue t && t.TryGetValue<string>(out var ts) ? ts : throw new JsonException("the notification has no string 'notification_type'");
        var uuid = node["training_uuid"] is JsonValue u && u.TryGetValue<string>(out var us) ? us : "";
        var body = node["body"] switch
        {
            null => new JsonObject(),
            JsonObject o => (JsonObject)JsonNode.Parse(o.ToJsonString())!,
            _ => throw new JsonException("the notification's 'body' must be a JSON object"),
        };
        return new LifecycleNotification(type, uuid, body);
    }
}
