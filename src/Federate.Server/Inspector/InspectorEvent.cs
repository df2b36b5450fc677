namespace Federate.Server.Inspector;

/// <summary>An entry of the inspector's event feed.</summary>
internal sealed record InspectorEvent(long Id, DateTimeOffset At, string RunId, string Kind, string Detail);
