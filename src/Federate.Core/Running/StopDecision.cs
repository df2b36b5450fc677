namespace Federate.Core.Running;

/// <summary>Why a run stops: a reason code (see <see cref="StopReasons"/>) and a one-line detail for people.</summary>
/// <param name="Reason">The reason code recorded as the history's <c>stop_reason</c>.</param>
/// <param name="Detail">One plain-language line recorded as <c>stop_detail</c>.</param>
public readonly record struct StopDecision(string Reason, string Detail);
