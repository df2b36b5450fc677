namespace Federate.Server.Internal;

internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "listening on {Address} (fleet protocol v{Version}, run {RunId})")]
    public static partial void Listening(ILogger logger, string address, uint version, string runId);

    [LoggerMessage(2, LogLevel.Warning, "--insecure: serving plain HTTP/2 without TLS; use only on a trusted network for development")]
    public static partial void Insecure(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "node {NodeId} '{Name}' joined ({Count} connected)")]
    public static partial void NodeJoined(ILogger logger, long nodeId, string name, int count);

    [LoggerMessage(4, LogLevel.Information, "node {NodeId} left: {Reason} ({Count} connected)")]
    public static partial void NodeLeft(ILogger logger, long nodeId, string reason, int count);

    [LoggerMessage(5, LogLevel.Warning, "refused {Call} from node {NodeId}: {Reason}")]
    public static partial void Refused(ILogger logger, string call, long nodeId, string reason);

    [LoggerMessage(6, LogLevel.Debug, "sent {Kind} task of round {Round} to node {NodeId} ({Bytes} bytes)")]
    public static partial void TaskSent(ILogger logger, string kind, int round, long nodeId, long bytes);

    [LoggerMessage(7, LogLevel.Debug, "received {Kind} reply of round {Round} from node {NodeId} ({Bytes} bytes)")]
    public static partial void ReplyReceived(ILogger logger, string kind, int round, long nodeId, long bytes);

    [LoggerMessage(8, LogLevel.Information, "round {Round}: {Results} results, {Failures} failures, {Metrics} ({Seconds:0.000} s)")]
    public static partial void RoundCompleted(ILogger logger, int round, int results, int failures, string metrics, double seconds);

    [LoggerMessage(9, LogLevel.Information, "round {Round} started: {Sampled} nodes sampled")]
    public static partial void RoundStarted(ILogger logger, int round, int sampled);

    [LoggerMessage(10, LogLevel.Warning, "round {Round}: node {NodeId} failed ({Code}): {Reason}")]
    public static partial void NodeFailed(ILogger logger, int round, long nodeId, string code, string reason);

    [LoggerMessage(11, LogLevel.Warning, "webhook {Url} failed for {Type} after {Attempts} attempts: {Reason}")]
    public static partial void WebhookFailed(ILogger logger, string url, string type, int attempts, string reason);

    [LoggerMessage(12, LogLevel.Warning, "notification queue full; dropped {Type} for webhooks")]
    public static partial void WebhookDropped(ILogger logger, string type);

    [LoggerMessage(13, LogLevel.Information, "run finished: {Reason}")]
    public static partial void RunFinished(ILogger logger, string reason);

    [LoggerMessage(15, LogLevel.Warning, "round {Round}: took {Bytes} already folded bytes of node {NodeId}'s refused update back out of the running sum")]
    public static partial void Unfolded(ILogger logger, int round, long nodeId, long bytes);

    [LoggerMessage(14, LogLevel.Information, "waiting for {Minimum} clients ({Count} connected)")]
    public static partial void Waiting(ILogger logger, int minimum, int count);

    [LoggerMessage(21, LogLevel.Warning, "inspector: admin actions (start, stop, reset, next round) are open to anyone who can reach the inspector port: no admin credential is configured on this insecure development server; use --admin-token TOKEN")]
    public static partial void AdminOpen(ILogger logger);

    [LoggerMessage(22, LogLevel.Warning, "inspector: keeping every client's latest update for download (--keep-client-weights): memory grows with clients x model, and updates are not folded while they stream in")]
    public static partial void KeepingClientWeights(ILogger logger);

    [LoggerMessage(30, LogLevel.Error, "the federated run failed")]
    public static partial void RunFailed(ILogger logger, Exception exception);

    [LoggerMessage(31, LogLevel.Information, "the federated run ended with exit code {ExitCode}; {Next}")]
    public static partial void RunEnded(ILogger logger, int exitCode, string next);

    [LoggerMessage(100, LogLevel.Information, "TLS with the startup kit of project '{Project}' (server names {Hosts}); registration by challenge-response; payload encryption {Encryption}")]
    public static partial void Secure(ILogger logger, string project, string hosts, string encryption);

    [LoggerMessage(101, LogLevel.Warning, "{Count} more refused calls in the last second were not logged (refusal log limit)")]
    public static partial void Suppressed(ILogger logger, long count);

    [LoggerMessage(102, LogLevel.Warning, "node {NodeId} ('{Name}') cut off: its certificate was revoked (open tasks failed as 'revoked', session ended)")]
    public static partial void RevokedNode(ILogger logger, long nodeId, string name);

    [LoggerMessage(103, LogLevel.Warning, "the kit's lists were not reloaded: {Problem}")]
    public static partial void ListUnreadable(ILogger logger, string problem);

    [LoggerMessage(104, LogLevel.Information, "{Kind} task of round {Round} to node {NodeId}: the connection broke during the download; it is sent again when the node pulls on a new connection")]
    public static partial void DeliveryInterrupted(ILogger logger, string kind, int round, long nodeId);
}
