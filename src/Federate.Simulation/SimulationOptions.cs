namespace Federate.Simulation;

/// <summary>Settings of the in-memory grid.</summary>
public sealed class SimulationOptions
{
    /// <summary>Number of virtual clients (nodes). Required.</summary>
    public int Clients { get; set; }

    /// <summary>Clients that compute at the same time, one thread each. Default: the number of processors.</summary>
    public int Parallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Probability that a sampled client fails a message (fault injection). Default 0.</summary>
    public double DropRate { get; set; }

    /// <summary>Seed for fault injection.</summary>
    public int Seed { get; set; }

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (Clients < 1)
        {
            return $"'clients' must be at least 1, got {Clients}";
        }

        if (Parallelism < 1)
        {
            return $"'parallelism' must be at least 1, got {Parallelism}";
        }

        if (!(DropRate >= 0 && DropRate < 1))
        {
            return $"'drop_rate' must be in [0, 1), got {DropRate}";
        }

        return null;
    }
}
