namespace Federate.State;

/// <summary>One entry of the append-only events log.</summary>
/// <param name="Id">Sequence number.</param>
/// <param name="RunId">The run.</param>
/// <param name="At">UTC time, ISO 8601.</param>
/// <param name="Kind">Short kind (run_started, run_resumed, round_completed, checkpoint_corrupt, run_finished, ...).</param>
/// <param name="Detail">One-line detail.</param>
public sealed record EventRow(long Id, string RunId, string At, string Kind, string Detail);
