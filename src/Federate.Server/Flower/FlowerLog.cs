using Microsoft.Extensions.Logging;

namespace Federate.Server.Flower;

internal static partial class FlowerLog
{
    [LoggerMessage(501, LogLevel.Warning, "Flower node {NodeId}: {Reason}")]
    public static partial void BadReply(ILogger logger, long nodeId, string reason);

    [LoggerMessage(502, LogLevel.Information, "Flower node {NodeId}: reply for round {Round} came after the round closed; discarded")]
    public static partial void LateReply(ILogger logger, long nodeId, int round);

    [LoggerMessage(503, LogLevel.Information, "flower: serving FlowerService/Join on {Address}")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(504, LogLevel.Warning, "flower: the Flower port speaks plain HTTP/2 (h2c) without TLS or authentication; use it only on a trusted network")]
    public static partial void Plaintext(ILogger logger);

    [LoggerMessage(505, LogLevel.Warning, "flower: the Flower port uses TLS but Flower clients do not take part in the kit's challenge-response; anyone who trusts the project CA and reaches the port can join")]
    public static partial void Unauthenticated(ILogger logger);
}
