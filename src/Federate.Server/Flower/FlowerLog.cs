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

    [LoggerMessage(506, LogLevel.Warning, "Flower SuperNode {NodeId} registered but the server has no Flower app to give it: start the server with --flower-app DIR|FILE.fab")]
    public static partial void NoApp(ILogger logger, long nodeId);

    [LoggerMessage(507, LogLevel.Warning, "flower: SuperNode {NodeId} refused: {Reason}")]
    public static partial void UnsupportedVersion(ILogger logger, long nodeId, string reason);

    [LoggerMessage(509, LogLevel.Information, "flower: SuperNode {NodeId} speaks Flower {Version}'s Fleet API")]
    public static partial void SuperNodeJoined(ILogger logger, long nodeId, string version);

    [LoggerMessage(508, LogLevel.Information, "flower: serving Flower's Fleet API for SuperNodes on {Address}: app {FabId} {Version} (fab hash {Hash})")]
    public static partial void ServingApp(ILogger logger, string address, string fabId, string version, string hash);
}
