
using System.Globalization;

namespace Federate.Core;

/// <summary>
/// The round loop: wait for nodes, sample, configure, send, fold replies as they arrive, aggregate, evaluate,
/// record history, notify, then test the stopping rules (round limit, convergence threshold, target metric,
/// operator stop, and a <see cref="RunOptions.BeforeRound"/> veto such as an exhausted privacy budget). Node failures are values recorded in the history, never exceptions out of a round.
/// </summary>
public sealed class RunDriver
{
    private readonly IGrid _grid;
    private readonly Strategy _strategy;
    private readonly RunOptions _options;
    private readonly IReadOnlyList<IRunObserver> _observers;
    private readonly TimeProvider _time;

    /// <summary>Creates a driver.</summary>
    public RunDriver(IGrid grid, Strategy strategy, RunOptions options, IEnumerable<IRunObserver>? observers = null, TimeProvider? timeProvider = null)
    {
        _grid = grid ?? throw new ArgumentNullException(nameof(grid));
        _strategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _observers = observers?.ToArray() ?? [];
        _time = timeProvider ?? TimeProvider.System;
        var problem = options.Validate() ?? strategy.Sampling.Validate();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }
    }

    /// <summary>Runs until a stopping rule holds and returns the final model and history.</summary>
    public async Task<RunResult> RunAsync(ArrayRecord initial, IReadOnlyDictionary<string, object?>? config = null, CancellationToken cancellationToken = default)
    {
        var history = new RunHistory { RunId = _options.RunId, Config = config ?? new Dictionary<string, object?>() };
        int first = 1;
        ArrayRecord global;
        if (_options.Resume is { } resume)
        {
            history.Rounds.AddRange(resume.Rounds);
            first = resume.CompletedRounds + 1;
            global = initial;
            if (history.Rounds.Count > 0 && CheckStoppingRules(history) is { } stopped)
            {
                // The interrupted run had already met a stopping rule in its last completed round.
                Stop(history, stopped.Reason, stopped.Detail);
                first = _options.Rounds + 1;
            }
        }
        else
        {
            global = _strategy.Initialize(initial);
        }

        // This async method's parameter lives as long as the run; drop it so the initial model can be collected
        // once the first round replaced it (server memory O(model), not two models, for huge models).
        initial = null!;
        Notify(o => o.OnRunStarted(history, global));

        for (int round = first; round <= _options.Rounds; round++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Stop(history, StopReasons.Cancelled, $"stopped by the operator before round {round}");
                break;
            }

            if (_options.BeforeRound?.Invoke(round) is { } veto)
            {
                Stop(history, veto.Reason, veto.Detail);
                break;
            }

            if (_options.BeforeRoundAsync is { } gate)
            {
                (string Reason, string Detail)? gateVeto;
                try
                {
                    gateVeto = await gate(round, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Stop(history, StopReasons.Cancelled, $"stopped by the operator before round {round}");
                    break;
                }

                if (gateVeto is { } g)
                {
                    Stop(history, g.Reason, g.Detail);
                    break;
                }
            }

            var started = _time.GetTimestamp();
            var context = new RoundContext { RunId = _options.RunId, Round = round, Seed = _options.Seed };
            IReadOnlyList<NodeInfo> nodes;
            try
            {
                nodes = await _grid.WaitForNodesAsync(_options.MinNodes, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Stop(history, StopReasons.Cancelled, $"stopped by the operator while waiting for clients before round {round}");
                break;
            }

            var failures = new List<RoundFailure>();

            // Train.
            var trainInstructions = _strategy.ConfigureTrain(context, global, _options.TrainConfig, nodes);
            Notify(o => o.OnRoundStarted(round, trainInstructions.Count));
            var aggregator = _strategy.CreateTrainAggregator(context, global);
            bool cancelled = false;
            try
            {
                // The grid folds each successful reply into the aggregator (chunk by chunk when it streams); a refused
                // reply comes back as an invalid_update error.
                await foreach (var reply in _grid.SendAndReceiveAsync(trainInstructions, aggregator, _options.RoundTimeout, cancellationToken).ConfigureAwait(false))
                {
                    Notify(o => o.OnReply(round, MessageType.Train, reply));
                    if (reply.Error is { } error)
                    {
                        failures.Add(new RoundFailure(reply.Metadata.SourceNodeId, "train", error.Code, error.Reason));
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
            }

            if (cancelled)
            {
                Stop(history, StopReasons.Cancelled, $"stopped by the operator during round {round}");
                break;
            }

            var results = aggregator.Count;
            MetricRecord trainMetrics = new();
            bool trainFailed = failures.Count > 0;
            if (results >= Math.Max(1, _options.MinResults) && (_strategy.AcceptFailures || !trainFailed))
            {
                var aggregate = aggregator.Complete();
                if (aggregate.Parameters is not null)
                {
                    global = aggregate.Parameters;
                }

                trainMetrics = aggregate.Metrics;
            }

            // Evaluate.
            MetricRecord evaluateMetrics = new();
            var evaluateInstructions = _strategy.ConfigureEvaluate(context, global, _options.EvaluateConfig, nodes);
            if (evaluateInstructions.Count > 0)
            {
                var replies = new List<Message>(evaluateInstructions.Count);
                try
                {
                    await foreach (var reply in _grid.SendAndReceiveAsync(evaluateInstructions, _options.RoundTimeout, cancellationToken).ConfigureAwait(false))
                    {
                        Notify(o => o.OnReply(round, MessageType.Evaluate, reply));
                        if (reply.Error is { } error)
                        {
                            failures.Add(new RoundFailure(reply.Metadata.SourceNodeId, "evaluate", error.Code, error.Reason));
                        }
                        else
                        {
                            replies.Add(reply);
                        }
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                }

                evaluateMetrics = _strategy.AggregateEvaluate(context, replies);
            }

            var record = new RoundRecord
            {
                Round = round,
                Train = trainMetrics,
                Evaluate = evaluateMetrics,
                Results = results,
                Failures = failures,
                Seconds = _time.GetElapsedTime(started).TotalSeconds,
            };
            history.Rounds.Add(record);
            Notify(o => o.OnRoundCompleted(record, global));

            if (cancelled)
            {
                Stop(history, StopReasons.Cancelled, $"stopped by the operator during round {round}");
                break;
            }

            if (results < Math.Max(1, _options.MinResults))
            {
                Stop(history, StopReasons.NotEnoughResults, $"round {round} got {results} usable replies, fewer than the {Math.Max(1, _options.MinResults)} required");
                break;
            }

            if (CheckStoppingRules(history) is { } stop)
            {
                Stop(history, stop.Reason, stop.Detail);
                break;
            }
        }

        if (history.StopReason is null)
        {
            Stop(history, StopReasons.RoundLimit, $"reached the round limit of {_options.Rounds}");
        }

        Notify(o => o.OnRunFinished(history, global));
        return new RunResult(global, history);
    }

    private (string Reason, string Detail)? CheckStoppingRules(RunHistory history)
    {
        var current = history.Rounds[^1];
        if (_options.Target is { } target && current.Evaluate.TryGetValue(target.Metric, out var value))
        {
            bool lowerIsBetter = target.Metric.Contains("loss", StringComparison.Ordinal);
            if (lowerIsBetter ? value <= target.Value : value >= target.Value)
            {
                return (StopReasons.TargetReached, string.Create(CultureInfo.InvariantCulture, $"{target.Metric} reached {value:0.####} (target {target.Value}) in round {current.Round}"));
            }
        }

        if (_options.Threshold is { } threshold && history.Rounds.Count >= 2)
        {
            var previous = history.Rounds[^2];
            var metric = _options.ThresholdMetric;
            if (current.Evaluate.TryGetValue(metric, out var now) && previous.Evaluate.TryGetValue(metric, out var before))
            {
                var change = Math.Abs(now - before);
                if (change < threshold)
                {
                    return (StopReasons.Converged, string.Create(CultureInfo.InvariantCulture, $"{metric} changed by {change:0.######} between rounds {previous.Round} and {current.Round}, less than the threshold {threshold}"));
                }
            }
        }

        return null;
    }

    private static void Stop(RunHistory history, string reason, string detail)
    {
        history.StopReason = reason;
        history.StopDetail = detail;
    }

    private void Notify(Action<IRunObserver> action)
    {
        foreach (var observer in _observers)
        {
            action(observer);
        }
    }

}
