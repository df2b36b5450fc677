using Microsoft.Extensions.Logging;

namespace Federate.Client.Internal;

internal static partial class ClientLog
{
    [LoggerMessage(1, LogLevel.Warning, "server {Server} is unreachable ({Reason}); retrying in {Seconds:0.#} s")]
    public static partial void Unreachable(ILogger logger, string server, string reason, double seconds);

    [LoggerMessage(2, LogLevel.Information, "joined {Server} as node {NodeId} (run {RunId})")]
    public static partial void Joined(ILogger logger, string server, long nodeId, string runId);

    [LoggerMessage(EventId = 3, Message = "round {Round}: {Kind} task received ({Bytes} bytes)")]
    public static partial void TaskReceived(ILogger logger, LogLevel level, int round, string kind, long bytes);

    [LoggerMessage(EventId = 4, Message = "round {Round}: {Kind} reply submitted")]
    public static partial void Submitted(ILogger logger, LogLevel level, int round, string kind);

    [LoggerMessage(5, LogLevel.Warning, "round {Round}: the server refused the reply: {Reason}")]
    public static partial void SubmitRefused(ILogger logger, int round, string reason);

    [LoggerMessage(6, LogLevel.Warning, "connection to {Server} lost ({Reason}); reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string server, string reason);

    [LoggerMessage(7, LogLevel.Warning, "node {NodeId} is no longer known to the server ({Reason}); registering again")]
    public static partial void Rejoining(ILogger logger, long nodeId, string reason);

    [LoggerMessage(8, LogLevel.Information, "run finished: {Reason}")]
    public static partial void Finished(ILogger logger, string reason);

    [LoggerMessage(9, LogLevel.Information, "notification {Type} training_uuid={TrainingUuid} body={Body}")]
    public static partial void Notification(ILogger logger, string type, string trainingUuid, string body);

    [LoggerMessage(10, LogLevel.Error, "notification handler for {Type} failed: {Reason}")]
    public static partial void HandlerFailed(ILogger logger, string type, string reason);

    [LoggerMessage(11, LogLevel.Information, "listening for notifications on {Prefix}")]
    public static partial void Listening(ILogger logger, string prefix);

    [LoggerMessage(13, LogLevel.Warning, "round {Round}: the {Kind} task failed ({Code}): {Reason}")]
    public static partial void TaskFailed(ILogger logger, int round, string kind, string code, string reason);

    [LoggerMessage(12, LogLevel.Information, "left the run (stopped by the operator)")]
    public static partial void Quit(ILogger logger);

    // The Flower connector (--protocol flower).
    [LoggerMessage(501, LogLevel.Information, "flower: joined the Flower server at {Server}")]
    public static partial void FlowerConnected(ILogger logger, string server);

    [LoggerMessage(502, LogLevel.Information, "flower: {Kind} for round {Round}: {Outcome}")]
    public static partial void FlowerAnswered(ILogger logger, string kind, int round, string outcome);

    [LoggerMessage(503, LogLevel.Warning, "flower: unreadable instruction: {Reason}")]
    public static partial void FlowerBadInstruction(ILogger logger, string reason);

    [LoggerMessage(504, LogLevel.Information, "flower: the server sent reconnect_ins after {Answered} answers; training is over")]
    public static partial void FlowerReconnect(ILogger logger, int answered);

    // The SuperNode connector (--protocol supernode).
    [LoggerMessage(511, LogLevel.Information, "supernode: registered with the Flower SuperLink at {Server} as node {NodeId}")]
    public static partial void SuperNodeRegistered(ILogger logger, string server, ulong nodeId);

    [LoggerMessage(512, LogLevel.Information, "supernode: run {RunId} finished after {Answered} answers; training is over")]
    public static partial void SuperNodeRunFinished(ILogger logger, ulong runId, int answered);

    [LoggerMessage(EventId = 30, Message = "transfer: {Direction} {Bytes} bytes in {Seconds:0.000} s ({Rate:0} MB/s) over the {Path}")]
    private static partial void Transferred(ILogger logger, LogLevel level, string direction, long bytes, double seconds, double rate, string path);

    /// <summary>Below this many bytes a transfer's rate says little: its line is a debug one.</summary>
    public const long RateWorthyBytes = 1L << 20;

    /// <summary>A transfer's size, time and rate, at <paramref name="level"/> (debug for one under <see cref="RateWorthyBytes"/>).</summary>
    public static void Transferred(ILogger logger, LogLevel level, string direction, long bytes, long startedTimestamp, string path)
    {
        var actual = bytes < RateWorthyBytes ? LogLevel.Debug : level;
        if (logger.IsEnabled(actual))
        {
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds;
            double rate = bytes / 1e6 / Math.Max(seconds, 1e-9);
            Transferred(logger, actual, direction, bytes, seconds, rate, path);
        }
    }

    [LoggerMessage(31, LogLevel.Warning, "transfer: the download broke after {Bytes} bytes ({Reason}); resuming from tensor {Tensor} byte {Offset}")]
    public static partial void Resuming(ILogger logger, long bytes, string reason, int tensor, long offset);

    [LoggerMessage(32, LogLevel.Information, "transfer: the server's transfer endpoint (port {Port}) is unreachable ({Reason}); tensors travel in the gRPC streams")]
    public static partial void TransferEndpointUnreachable(ILogger logger, int port, string reason);
}
