using System.Runtime.CompilerServices;
using Federate.Core.Diagnostics;

namespace Federate.Core.Running;

/// <summary>
/// The state of one round while its stages run: the sampled-from nodes, the global model (a stage may replace it),
/// metrics, results and failures. Stages talk to the nodes through <see cref="ExchangeAsync"/>.
/// </summary>
/// <param name="context">The round's context.</param>
/// <param name="grid">The grid.</param>
/// <param name="strategy">The run's strategy.</param>
/// <param name="options">The run's options.</param>
/// <param name="nodes">The nodes available when the round started.</param>
/// <param name="global">The global model at the start of the round.</param>
/// <param name="onReply">Shows a reply to the run's observers.</param>
/// <param name="onStarted">Tells the run's observers that train instructions went out.</param>
public sealed class RoundExecution(RoundContext context, IGrid grid, Strategy strategy, RunOptions options, IReadOnlyList<NodeInfo> nodes, ArrayRecord global, Action<int, MessageType, Message> onReply, Action<int, int> onStarted)
{
    private readonly Action<int, MessageType, Message> _onReply = onReply ?? throw new ArgumentNullException(nameof(onReply));
    private readonly Action<int, int> _onStarted = onStarted ?? throw new ArgumentNullException(nameof(onStarted));

    /// <summary>The round's context (run, round, seed).</summary>
    public RoundContext Context { get; } = context;

    /// <summary>The round, 1-based.</summary>
    public int Round => Context.Round;

    /// <summary>The grid the round talks to.</summary>
    public IGrid Grid { get; } = grid;

    /// <summary>The run's strategy.</summary>
    public Strategy Strategy { get; } = strategy;

    /// <summary>The run's options (configs, timeouts, minimum results).</summary>
    public RunOptions Options { get; } = options;

    /// <summary>The nodes available when the round started.</summary>
    public IReadOnlyList<NodeInfo> Nodes { get; } = nodes;

    /// <summary>The global model; a stage that aggregates sets the new one.</summary>
    public ArrayRecord Global { get; set; } = global;

    /// <summary>True once a stage replaced the global model: the round is then recorded even if cancelled afterwards.</summary>
    public bool ModelUpdated { get; set; }

    /// <summary>Aggregated train metrics.</summary>
    public MetricRecord TrainMetrics { get; set; } = new();

    /// <summary>Aggregated evaluate metrics.</summary>
    public MetricRecord EvaluateMetrics { get; set; } = new();

    /// <summary>Train metrics that are not numbers, as the replies reported them.</summary>
    public List<NodeMetricValue> TrainValues { get; } = [];

    /// <summary>Evaluate metrics that are not numbers, as the replies reported them.</summary>
    public List<NodeMetricValue> EvaluateValues { get; } = [];

    /// <summary>Usable train results (the count that <see cref="RunOptions.MinResults"/> is checked against).</summary>
    public int Results { get; set; }

    /// <summary>Failures of this round, in the order they happened.</summary>
    public List<RoundFailure> Failures { get; } = [];

    /// <summary>Values that stages of one round share (e.g. keys exchanged in a first stage and used in a later one).</summary>
    public IDictionary<string, object> Items { get; } = new Dictionary<string, object>(StringComparer.Ordinal);

    /// <summary>Tells the observers that a stage sent <paramref name="sampled"/> train instructions.</summary>
    public void ReportStarted(int sampled) => _onStarted(Round, sampled);

    /// <summary>
    /// Sends <paramref name="instructions"/> and yields the successful replies as they arrive; error replies are
    /// recorded in <see cref="Failures"/> under <paramref name="stage"/> and not yielded. Every reply is shown to the
    /// run's observers. <paramref name="timeout"/> is the stage's deadline (null: the run's round timeout).
    /// <paramref name="aggregator"/>, when given, is the train aggregator the grid folds every successful reply into
    /// (chunk by chunk as the bytes arrive when it can stream: server memory O(model)); a reply it refuses comes back
    /// as a failure with code <c>invalid_update</c>.
    /// </summary>
    public async IAsyncEnumerable<Message> ExchangeAsync(string stage, IReadOnlyList<Message> instructions, TimeSpan? timeout = null, ITrainAggregator? aggregator = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instructions);
        if (instructions.Count == 0)
        {
            yield break;
        }

        var type = instructions[0].Metadata.MessageType;
        var replies = aggregator is null
            ? Grid.SendAndReceiveAsync(instructions, timeout ?? Options.RoundTimeout, cancellationToken)
            : Grid.SendAndReceiveAsync(instructions, aggregator, timeout ?? Options.RoundTimeout, cancellationToken);
        var tasks = RunTelemetry.StartNodeTasks(stage, Round, instructions);
        try
        {
            await foreach (var reply in replies.ConfigureAwait(false))
            {
                RunTelemetry.Reply(stage, reply, tasks);
                _onReply(Round, type, reply);
                if (reply.Error is { } error)
                {
                    Failures.Add(new RoundFailure(reply.Metadata.SourceNodeId, stage, error.Code, error.Reason));
                    continue;
                }

                yield return reply;
            }
        }
        finally
        {
            RunTelemetry.EndNodeTasks(tasks);
        }
    }
}
