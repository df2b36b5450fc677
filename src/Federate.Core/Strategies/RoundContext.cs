namespace Federate.Core.Strategies;

/// <summary>What a strategy knows about the round it is configuring or aggregating.</summary>
public sealed class RoundContext
{
    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>The round, 1-based.</summary>
    public required int Round { get; init; }

    /// <summary>The run's seed; strategies derive their randomness from it so runs repeat exactly.</summary>
    public required int Seed { get; init; }

    /// <summary>A generator seeded from the run seed and the round, for sampling.</summary>
    public Random CreateRandom(string purpose) => new(Seeds.Derive(Seed, Round, purpose));
}
