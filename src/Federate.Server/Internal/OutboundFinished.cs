namespace Federate.Server.Internal;

internal sealed record OutboundFinished(string StopReason, string Detail) : Outbound;
