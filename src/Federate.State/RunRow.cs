namespace Federate.State;

/// <summary>A run as the state store records it.</summary>
/// <param name="Id">The run id (kept when the run resumes).</param>
/// <param name="Status">running, finished or abandoned.</param>
/// <param name="RoundsDone">Completed (checkpointed) rounds.</param>
/// <param name="StopReason">Why it stopped, once finished.</param>
/// <param name="StopDetail">One-line detail.</param>
/// <param name="Fingerprint">Hash of the run's settings; a restart with the same settings resumes the run.</param>
/// <param name="Generation">How many server processes have worked on the run.</param>
/// <param name="CreatedAt">When the run started (UTC, ISO 8601).</param>
public sealed record RunRow(string Id, string Status, int RoundsDone, string? StopReason, string? StopDetail, string Fingerprint, int Generation, string CreatedAt);
