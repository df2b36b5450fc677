namespace Federate.Server.Internal;

internal sealed record OutboundNotification(LifecycleNotification Notification) : Outbound;
