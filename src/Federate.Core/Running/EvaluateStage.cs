namespace Federate.Core.Running;

/// <summary>
/// The federated evaluate exchange: the strategy configures it (empty when evaluation is off), and the successful
/// replies are aggregated, also when the operator cancels part way (what arrived is kept).
/// </summary>
/// <param name="timeout">This stage's deadline; null uses the run's round timeout.</param>
public sealed class EvaluateStage(TimeSpan? timeout = null) : IRoundStage
{
    /// <inheritdoc />
    public string Name => "evaluate";

    /// <inheritdoc />
    public async ValueTask RunAsync(RoundExecution round, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(round);
        var instructions = round.Strategy.ConfigureEvaluate(round.Context, round.Global, round.Options.EvaluateConfig, round.Nodes);
        if (instructions.Count == 0)
        {
            return;
        }

        var replies = new List<Message>(instructions.Count);
        try
        {
            await foreach (var reply in round.ExchangeAsync(Name, instructions, timeout, null, cancellationToken).ConfigureAwait(false))
            {
                replies.Add(reply);
                round.EvaluateValues.AddRange(NodeMetricValue.Of(reply));
            }
        }
        finally
        {
            round.EvaluateMetrics = round.Strategy.AggregateEvaluate(round.Context, replies);
        }
    }
}
