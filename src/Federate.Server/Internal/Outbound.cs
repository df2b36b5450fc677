namespace Federate.Server.Internal;

/// <summary>Something waiting in a node's outbox: a notification, a task, or the end of the run.</summary>
internal abstract record Outbound;
