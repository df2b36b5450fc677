namespace Federate.Chaos;

/// <summary>What the chaos runner runs: how many trials of each kind, the deployment, and where.</summary>
public sealed class ChaosSettings : RunnerSettings
{
    /// <summary>Seed of the trials: every kill point, victim and fault is drawn from it.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Trials that SIGKILL the server once and restart it.</summary>
    public int ServerKills { get; init; } = 50;

    /// <summary>Trials that SIGKILL one client once and restart it.</summary>
    public int ClientKills { get; init; } = 10;

    /// <summary>Trials with one cut or stalled connection through the fault proxy.</summary>
    public int NetworkFaults { get; init; } = 10;

    /// <summary>
    /// The server kill points drawn from: the <see cref="Core.Diagnostics.FaultPoints"/> names (waiting, round-start,
    /// upload, fold, evaluate, checkpoint-file, checkpoint-commit, finished) and <c>timed</c> (SIGKILL from outside after
    /// a delay drawn from the reference run's duration). Default: all of them.
    /// </summary>
    public IReadOnlyList<string> ServerKillPoints { get; init; } = ["waiting", "round-start", "upload", "fold", "evaluate", "checkpoint-file", "checkpoint-commit", "finished", "timed"];

    /// <summary>Rounds of the deployment.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Client processes (partitions) of the deployment.</summary>
    public int Clients { get; init; } = 3;

    /// <summary>The deployment's seed (the same in every trial and in the reference run).</summary>
    public int DeploymentSeed { get; init; } = 3;

    /// <summary>Chunk size of uploads and downloads (small, so an update is many chunks).</summary>
    public int ChunkSize { get; init; } = 4096;

    /// <summary>
    /// Seconds of client silence after which the server drops a node (<c>--node-expiry</c>; heartbeats every 0.5 s).
    /// Long enough that a starved client on a loaded machine is not dropped; a killed client's node lingers as long.
    /// </summary>
    public int NodeExpirySeconds { get; init; } = 10;

    /// <summary>Keep every trial's folder with the processes' logs (by default only failed trials' folders are kept).</summary>
    public bool KeepAll { get; init; }

    /// <summary>Longest a trial's server may take to finish after its last restart.</summary>
    public TimeSpan TrialTimeout { get; init; } = TimeSpan.FromSeconds(240);
}
