namespace Federate.Core.Privacy;

/// <summary>
/// A strategy that forwards everything to an inner strategy, its state (JSON and tensors) included; privacy wrappers
/// derive from it. A wrapper that replaces <see cref="CreateTrainAggregator"/> should wrap the inner aggregator in a
/// <see cref="Strategies.DelegatingTrainAggregator"/> so updates still stream.
/// </summary>
public abstract class DelegatingStrategy : Strategy, IStatefulStrategy, Strategies.ITensorStateStrategy
{
    /// <summary>Wraps <paramref name="inner"/>, sharing its sampling options and failure policy.</summary>
    protected DelegatingStrategy(Strategy inner)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        Sampling = inner.Sampling;
        AcceptFailures = inner.AcceptFailures;
    }

    /// <summary>The wrapped strategy.</summary>
    public Strategy Inner { get; }

    /// <inheritdoc />
    public override string Name => Inner.Name;

    /// <inheritdoc />
    public override ArrayRecord Initialize(ArrayRecord initial) => Inner.Initialize(initial);

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        Inner.ConfigureTrain(context, global, config, nodes);

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => Inner.CreateTrainAggregator(context, global);

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureEvaluate(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes) =>
        Inner.ConfigureEvaluate(context, global, config, nodes);

    /// <inheritdoc />
    public override MetricRecord AggregateEvaluate(RoundContext context, IReadOnlyList<Message> replies) => Inner.AggregateEvaluate(context, replies);

    /// <summary>This wrapper's own state and the inner strategy's, as one JSON object (for checkpoints).</summary>
    string IStatefulStrategy.ExportState()
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = "federate.delegating",
            ["own"] = ExportOwnState() is { } own ? System.Text.Json.Nodes.JsonNode.Parse(own) : null,
            ["inner"] = StrategyState.Export(Inner) is { } inner ? System.Text.Json.Nodes.JsonNode.Parse(inner) : null,
        };
        return node.ToJsonString();
    }

    /// <summary>Restores what <see cref="IStatefulStrategy.ExportState"/> wrote.</summary>
    void IStatefulStrategy.ImportState(string json)
    {
        System.Text.Json.Nodes.JsonNode? node;
        try
        {
            node = System.Text.Json.Nodes.JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"invalid strategy state: {ex.Message}", ex);
        }

        if (node?["format"]?.GetValue<string>() != "federate.delegating")
        {
            throw new FormatException("not a wrapped strategy state");
        }

        if (node["own"] is { } own)
        {
            ImportOwnState(own.ToJsonString());
        }

        StrategyState.Import(Inner, node["inner"]?.ToJsonString());
    }

    /// <summary>The inner strategy's state tensors, named with the prefix <c>inner.</c>.</summary>
    IReadOnlyList<Strategies.StateTensor> Strategies.ITensorStateStrategy.ExportTensors() =>
        [.. StrategyState.ExportTensors(Inner).Select(t => t with { Name = "inner." + t.Name })];

    /// <summary>Restores the inner strategy's state tensors.</summary>
    void Strategies.ITensorStateStrategy.ImportTensors(Formats.StateTensorFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (Inner is Strategies.ITensorStateStrategy inner)
        {
            inner.ImportTensors(file.Scope("inner."));
        }
    }

    /// <summary>This wrapper's own state as JSON, or null when it keeps none.</summary>
    protected virtual string? ExportOwnState() => null;

    /// <summary>Restores this wrapper's own state.</summary>
    protected virtual void ImportOwnState(string json)
    {
    }
}
