namespace Federate.Core.Strategies;

/// <summary>A node the grid can reach.</summary>
/// <param name="NodeId">Stable id of the node within the grid (never 0, which is the server).</param>
/// <param name="Name">Human-readable name (e.g. "client-3" or a certificate CN).</param>
/// <param name="PartitionId">The data partition a simulated node trains on, when known.</param>
public sealed record NodeInfo(long NodeId, string Name, int? PartitionId = null);

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

/// <summary>How a strategy samples nodes each round.</summary>
public sealed class SamplingOptions
{
    /// <summary>Fraction of available nodes sampled for training (0, 1]. Default 1.</summary>
    public double FractionTrain { get; set; } = 1.0;

    /// <summary>Fraction of available nodes sampled for evaluation [0, 1]; 0 disables federated evaluation. Default 1.</summary>
    public double FractionEvaluate { get; set; } = 1.0;

    /// <summary>Lower bound on nodes sampled for training. Default 1.</summary>
    public int MinTrainNodes { get; set; } = 1;

    /// <summary>Lower bound on nodes sampled for evaluation. Default 1.</summary>
    public int MinEvaluateNodes { get; set; } = 1;

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!(FractionTrain > 0 && FractionTrain <= 1))
        {
            return $"--fraction must be in (0, 1], got {FractionTrain}; use e.g. --fraction 0.1 to sample 10% of the clients each round";
        }

        if (!(FractionEvaluate >= 0 && FractionEvaluate <= 1))
        {
            return $"--fraction-evaluate must be in [0, 1], got {FractionEvaluate}";
        }

        if (MinTrainNodes < 1)
        {
            return $"--min-fit-clients must be at least 1, got {MinTrainNodes}";
        }

        return null;
    }
}

/// <summary>The result of folding a round's train replies.</summary>
/// <param name="Parameters">The new global model, or null to keep the current one.</param>
/// <param name="Metrics">Aggregated train metrics.</param>
public sealed record AggregateResult(ArrayRecord? Parameters, MetricRecord Metrics);

/// <summary>
/// Folds train replies one at a time as they arrive, so FedAvg-like strategies hold one running sum:
/// memory O(model), not O(clients x model).
/// </summary>
public interface ITrainAggregator
{
    /// <summary>Number of replies folded so far.</summary>
    int Count { get; }

    /// <summary>
    /// Folds one successful reply. Returns null when it was accepted, or a one-line reason when the reply cannot be
    /// used (it then counts as a failure and leaves the running state untouched).
    /// </summary>
    string? Add(Message reply);

    /// <summary>Finishes the round.</summary>
    AggregateResult Complete();
}

/// <summary>
/// A federated learning strategy: chooses the nodes and config of each round, and turns replies into the next
/// global model and aggregated metrics. Strategies see contracts only (messages and records), so they behave the
/// same in simulation and deployment.
/// </summary>
public abstract class Strategy
{
    /// <summary>The strategy's command-line name (e.g. "fedavg").</summary>
    public abstract string Name { get; }

    /// <summary>Sampling of nodes for train and evaluate.</summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>
    /// When false, a round in which any sampled node failed to train keeps the previous global model (Flower's
    /// accept_failures). Default true.
    /// </summary>
    public bool AcceptFailures { get; set; } = true;

    /// <summary>Gives the initial global model; the default keeps the one the run driver was given.</summary>
    public virtual ArrayRecord Initialize(ArrayRecord initial) => initial;

    /// <summary>Creates the train instructions of a round.</summary>
    public virtual IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes)
    {
        var sampled = Sample(context, nodes, Sampling.FractionTrain, Sampling.MinTrainNodes, "train");
        return CreateInstructions(context, MessageType.Train, global, config, sampled);
    }

    /// <summary>Starts folding the train replies of a round.</summary>
    public abstract ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global);

    /// <summary>Creates the evaluate instructions of a round; empty when federated evaluation is off.</summary>
    public virtual IReadOnlyList<Message> ConfigureEvaluate(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes)
    {
        if (Sampling.FractionEvaluate <= 0)
        {
            return [];
        }

        var sampled = Sample(context, nodes, Sampling.FractionEvaluate, Sampling.MinEvaluateNodes, "evaluate");
        return CreateInstructions(context, MessageType.Evaluate, global, config, sampled);
    }

    /// <summary>Aggregates evaluate replies: the example-weighted mean of every metric.</summary>
    public virtual MetricRecord AggregateEvaluate(RoundContext context, IReadOnlyList<Message> replies) => MetricAggregation.WeightedMean(replies);

    /// <summary>
    /// Samples nodes deterministically: max(ceil(fraction * available), minimum), capped at the number available,
    /// chosen by a generator seeded from the run seed and round.
    /// </summary>
    protected static IReadOnlyList<NodeInfo> Sample(RoundContext context, IReadOnlyList<NodeInfo> nodes, double fraction, int minimum, string purpose)
    {
        var ordered = nodes.OrderBy(n => n.NodeId).ToArray();
        int k = Math.Min(ordered.Length, Math.Max((int)Math.Ceiling(fraction * ordered.Length - 1e-9), minimum));
        if (k >= ordered.Length)
        {
            return ordered;
        }

        var rng = context.CreateRandom(purpose);
        rng.Shuffle(ordered);
        return [.. ordered.Take(k).OrderBy(n => n.NodeId)];
    }

    /// <summary>Builds one instruction per node carrying the (shared, not copied) global model and config.</summary>
    protected static IReadOnlyList<Message> CreateInstructions(RoundContext context, MessageType type, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes)
    {
        var roundConfig = config.Clone();
        roundConfig[RecordNames.ServerRound] = context.Round;
        var list = new List<Message>(nodes.Count);
        foreach (var node in nodes)
        {
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = global;
            content.Configs[RecordNames.Config] = roundConfig;
            var metadata = new MessageMetadata
            {
                RunId = context.RunId,
                Round = context.Round,
                MessageType = type,
                SourceNodeId = 0,
                DestinationNodeId = node.NodeId,
                MessageId = $"{context.RunId}/{context.Round}/{type.ToString().ToLowerInvariant()}/{node.NodeId}",
            };
            list.Add(new Message(metadata, content));
        }

        return list;
    }
}
