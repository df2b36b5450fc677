namespace Federate.Core;

/// <summary>Creates strategies from their command-line names.</summary>
public static class StrategyCatalog
{
    /// <summary>Strategy names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fedavg"];

    /// <summary>Creates a strategy; throws <see cref="ArgumentException"/> (one line) for an unknown name.</summary>
    public static Strategy Create(string name, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "fedavg" => new FedAvg { Sampling = sampling },
            _ => throw new ArgumentException($"Unknown strategy '{name}'; use one of: {string.Join(", ", Names)}."),
        };
    }
}
