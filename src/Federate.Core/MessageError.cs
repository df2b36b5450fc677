namespace Federate.Core;

/// <summary>Why a message could not be answered.</summary>
/// <param name="Code">A short machine-readable code (e.g. "client_error", "timeout", "dropped").</param>
/// <param name="Reason">A one-line explanation a person can act on.</param>
public sealed record MessageError(string Code, string Reason);
