namespace Federate.Core.Running;

/// <summary>A node that did not deliver a usable reply in a round.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="Phase">"train" or "evaluate".</param>
/// <param name="Code">Short code (client_error, timeout, dropped, invalid_update, ...).</param>
/// <param name="Reason">One-line explanation.</param>
public sealed record RoundFailure(long NodeId, string Phase, string Code, string Reason);
