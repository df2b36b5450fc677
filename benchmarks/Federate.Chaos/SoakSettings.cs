namespace Federate.Chaos;

/// <summary>A soak run: many rounds of a small model while client processes leave and join again.</summary>
public sealed class SoakSettings : RunnerSettings
{
    /// <summary>Creates the settings with a logistic model (the smallest that trains).</summary>
    public SoakSettings() => Model = "logistic";

    /// <summary>Rounds of the run.</summary>
    public int Rounds { get; init; } = 1000;

    /// <summary>Client processes; each runs <see cref="ClientsPerProcess"/> clients (<c>--virtual-clients</c>).</summary>
    public int Processes { get; init; } = 4;

    /// <summary>Clients in each client process (20 clients with the defaults).</summary>
    public int ClientsPerProcess { get; init; } = 5;

    /// <summary>Clients the server waits for before each round (rounds go on while one process is away).</summary>
    public int MinClients { get; init; } = 10;

    /// <summary>Every this many rounds one client process (in turn) leaves (Ctrl+C or SIGKILL, alternately) and starts again.</summary>
    public int ChurnEvery { get; init; } = 20;

    /// <summary>Every this many rounds the server's memory, threads and open handles are sampled.</summary>
    public int SampleEvery { get; init; } = 50;

    /// <summary>Longest wait for one round (churn included) before the soak gives up.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromSeconds(120);
}
