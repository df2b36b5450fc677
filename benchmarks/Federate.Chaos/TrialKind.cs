namespace Federate.Chaos;

/// <summary>What a chaos trial does to the deployment.</summary>
public enum TrialKind
{
    /// <summary>SIGKILL the server once and restart it with the same command.</summary>
    ServerKill,

    /// <summary>SIGKILL one client once and restart it with the same command.</summary>
    ClientKill,

    /// <summary>Cut or stall one connection mid-stream through the fault proxy.</summary>
    NetworkFault,
}
