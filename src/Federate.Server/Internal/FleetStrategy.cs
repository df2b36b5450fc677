using Federate.Core;

namespace Federate.Server.Internal;

/// <summary>
/// Wraps a strategy for the gRPC fleet: when its train aggregator can fold streams, the grid folds each update
/// from its chunks (through a spool file) as it arrives, and the aggregator handed to the run driver skips replies
/// the grid already folded. Everything else is the wrapped strategy's own behaviour.
/// </summary>
internal sealed class FleetStrategy : Strategy, IStatefulStrategy
{
    private readonly Strategy _inner;
    private readonly FleetGrid _grid;

    private readonly bool _streaming;

    /// <param name="inner">The strategy.</param>
    /// <param name="grid">The grid.</param>
    /// <param name="streaming">Fold updates as they stream in; false keeps every reply whole (the inspector's client weights).</param>
    public FleetStrategy(Strategy inner, FleetGrid grid, bool streaming = true)
    {
        _streaming = streaming;
        _inner = inner;
        _grid = grid;
        Sampling = inner.Sampling;
        AcceptFailures = inner.AcceptFailures;
    }

    public override string Name => _inner.Name;

    public override ArrayRecord Initialize(ArrayRecord initial) => _inner.Initialize(initial);

    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        _inner.ConfigureTrain(context, global, config, nodes);

    public override IReadOnlyList<Message> ConfigureEvaluate(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        _inner.ConfigureEvaluate(context, global, config, nodes);

    public override MetricRecord AggregateEvaluate(RoundContext context, IReadOnlyList<Message> replies) => _inner.AggregateEvaluate(context, replies);

    public string ExportState() => StrategyState.Export(_inner) ?? "null";

    public void ImportState(string json)
    {
        if (json != "null")
        {
            StrategyState.Import(_inner, json);
        }
    }

    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global)
    {
        var aggregator = _inner.CreateTrainAggregator(context, global);
        if (_streaming && aggregator is IStreamingTrainAggregator streaming)
        {
            _grid.UseStreamingAggregator(context.Round, streaming);
            return new PrefoldedAggregator(streaming, _grid);
        }

        return aggregator;
    }

    private sealed class PrefoldedAggregator(IStreamingTrainAggregator inner, FleetGrid grid) : ITrainAggregator
    {
        public int Count => inner.Count;

        public string? Add(Message reply) => grid.TakePrefolded(reply) ? null : inner.Add(reply);

        public AggregateResult Complete() => inner.Complete();
    }
}
