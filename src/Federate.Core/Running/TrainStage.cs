using System.Diagnostics;
using Federate.Core.Diagnostics;

namespace Federate.Core.Running;

/// <summary>
/// The train exchange: the strategy configures the sampled nodes, replies are folded one at a time into the
/// strategy's aggregator as they arrive (by the grid), and the round's new global model is set when enough results came back
/// (<see cref="RunOptions.MinResults"/>, and no failure unless the strategy accepts failures).
/// </summary>
/// <param name="timeout">This stage's deadline; null uses the run's round timeout.</param>
public sealed class TrainStage(TimeSpan? timeout = null) : IRoundStage
{
    /// <inheritdoc />
    public string Name => "train";

    /// <inheritdoc />
    public async ValueTask RunAsync(RoundExecution round, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(round);
        var strategy = round.Strategy;
        var instructions = strategy.ConfigureTrain(round.Context, round.Global, round.Options.TrainConfig, round.Nodes);
        round.ReportStarted(instructions.Count);
        // With update compression the aggregator decodes each compressed update before folding it.
        var aggregator = Compression.UpdateCompression.Wrap(strategy.CreateTrainAggregator(round.Context, round.Global), round.Global, round.Options.TrainConfig);
        // One reply at most per instruction: a FedAvg mean is then scaled while the last update folds, not after.
        aggregator.ExpectReplies(instructions.Count);
        // The grid folds each successful reply into the aggregator (chunk by chunk when it streams); a refused one
        // comes back as an invalid_update failure.
        await foreach (var reply in round.ExchangeAsync(Name, instructions, timeout, aggregator, cancellationToken).ConfigureAwait(false))
        {
            round.TrainValues.AddRange(NodeMetricValue.Of(reply));
        }

        round.Results = aggregator.Count;
        bool failed = round.Failures.Count > 0;
        if (round.Results >= Math.Max(1, round.Options.MinResults) && (strategy.AcceptFailures || !failed))
        {
            var aggregating = Stopwatch.GetTimestamp();
            var aggregate = aggregator.Complete();
            RunTelemetry.AggregationCompleted(Stopwatch.GetElapsedTime(aggregating));
            if (aggregate.Parameters is not null)
            {
                round.Global = aggregate.Parameters;
            }

            round.TrainMetrics = aggregate.Metrics;
        }

        round.ModelUpdated = true;
    }
}
