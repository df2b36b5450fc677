namespace Federate.Server;

/// <summary>What the operator may do next and what the run is doing, as the inspector shows it.</summary>
/// <param name="Manual">Rounds start only when an admin asks.</param>
/// <param name="Automatic">Rounds currently run one after another without waiting (always in automatic mode; after "start run" in manual mode).</param>
/// <param name="WaitingForRound">The round waiting for an admin's "next round", or null.</param>
/// <param name="RunActive">A run is in progress (false between a finished run and a reset).</param>
/// <param name="StopRequested">An admin asked to stop; the run ends before its next round.</param>
public sealed record RunControlState(bool Manual, bool Automatic, int? WaitingForRound, bool RunActive, bool StopRequested);
