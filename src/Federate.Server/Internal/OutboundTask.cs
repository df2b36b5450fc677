namespace Federate.Server.Internal;

internal sealed record OutboundTask(PendingTask Task) : Outbound;
