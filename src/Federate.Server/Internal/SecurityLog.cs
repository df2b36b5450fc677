using System.Threading.RateLimiting;
using Federate.Security;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Internal;

internal static partial class SecurityLog
{
    [LoggerMessage(100, LogLevel.Information, "TLS with the startup kit of project '{Project}' (server names {Hosts}); registration by challenge-response; payload encryption {Encryption}")]
    public static partial void Secure(ILogger logger, string project, string hosts, string encryption);

    [LoggerMessage(101, LogLevel.Warning, "{Count} more refused calls in the last second were not logged (refusal log limit)")]
    public static partial void Suppressed(ILogger logger, long count);

    [LoggerMessage(102, LogLevel.Warning, "node {NodeId} ('{Name}') cut off: its certificate was revoked (open tasks failed as 'revoked', session ended)")]
    public static partial void RevokedNode(ILogger logger, long nodeId, string name);

    [LoggerMessage(103, LogLevel.Warning, "the kit's lists were not reloaded: {Problem}")]
    public static partial void ListUnreadable(ILogger logger, string problem);
}
