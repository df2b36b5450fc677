namespace Federate.Core.Strategies;

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
