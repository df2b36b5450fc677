using Federate.Core.Diagnostics;

namespace Federate.Core.Running;

/// <summary>
/// The round loop: check the stop rules, wait for nodes, run the round's stages (by default train, then evaluate;
/// see <see cref="RunOptions.Stages"/>), record history, notify observers, then check the stop rules again (round
/// limit, too few results, <see cref="RunOptions.Target"/>, <see cref="RunOptions.Threshold"/>, then
/// <see cref="RunOptions.StopRules"/> in order). Node failures are values recorded in the history, never exceptions
/// out of a round.
/// </summary>
public sealed class RunDriver
{
    private readonly IGrid _grid;
    private readonly Strategy _strategy;
    private readonly RunOptions _options;
    private readonly CompositeRunObserver _observers;
    private readonly IReadOnlyList<IStopRule> _rules;
    private readonly TimeProvider _time;

    /// <summary>Creates a driver.</summary>
    public RunDriver(IGrid grid, Strategy strategy, RunOptions options, IEnumerable<IRunObserver>? observers = null, TimeProvider? timeProvider = null)
    {
        _grid = grid ?? throw new ArgumentNullException(nameof(grid));
        _strategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _observers = new CompositeRunObserver(observers?.ToArray() ?? []);
        _time = timeProvider ?? TimeProvider.System;
        var problem = options.Validate() ?? strategy.Sampling.Validate();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        var rules = new List<IStopRule>();
        if (options.Target is { } target)
        {
            rules.Add(StopRules.Target(target.Metric, target.Value));
        }

        if (options.Threshold is { } threshold)
        {
            rules.Add(StopRules.Convergence(threshold, options.ThresholdMetric));
        }

        rules.AddRange(options.StopRules);
        _rules = rules;
    }

    /// <summary>Runs until a stopping rule holds and returns the final model and history.</summary>
    public async Task<RunResult> RunAsync(ArrayRecord initial, IReadOnlyDictionary<string, object?>? config = null, CancellationToken cancellationToken = default)
    {
        using var runActivity = RunTelemetry.StartRun(_options.RunId, _strategy.Name);
        var history = new RunHistory { RunId = _options.RunId, Config = config ?? new Dictionary<string, object?>() };
        int first = 1;
        ArrayRecord global;
        if (_options.Resume is { } resume)
        {
            history.Rounds.AddRange(resume.Rounds);
            first = resume.CompletedRounds + 1;
            global = initial;
            if (history.Rounds.Count > 0 && AfterRound(history) is { } stopped)
            {
                // The interrupted run had already met a stopping rule in its last completed round.
                Stop(history, stopped);
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
        await _observers.OnRunStartedAsync(history, global, cancellationToken).ConfigureAwait(false);

        for (int round = first; round <= _options.Rounds; round++)
        {
            Diagnostics.FaultPoints.Reach("round-start", round);
            if (await BeforeRoundAsync(round, history, cancellationToken).ConfigureAwait(false) is { } veto)
            {
                Stop(history, veto);
                break;
            }

            using var roundActivity = RunTelemetry.StartRound(round);
            var started = _time.GetTimestamp();
            var context = new RoundContext { RunId = _options.RunId, Round = round, Seed = _options.Seed };
            IReadOnlyList<NodeInfo> nodes;
            try
            {
                nodes = await _grid.WaitForNodesAsync(_options.MinNodes, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Stop(history, new StopDecision(StopReasons.Cancelled, $"stopped by the operator while waiting for clients before round {round}"));
                break;
            }

            var execution = new RoundExecution(context, _grid, _strategy, _options, nodes, global, _observers.OnReply, _observers.OnRoundStarted);
            bool cancelled = false;
            try
            {
                foreach (var stage in _options.Stages)
                {
                    using var stageActivity = RunTelemetry.StartStage(stage.Name, round);
                    var stageStarted = _time.GetTimestamp();
                    await stage.RunAsync(execution, cancellationToken).ConfigureAwait(false);
                    RunTelemetry.StageCompleted(stage.Name, _time.GetElapsedTime(stageStarted));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
            }

            if (cancelled && !execution.ModelUpdated)
            {
                Stop(history, new StopDecision(StopReasons.Cancelled, $"stopped by the operator during round {round}"));
                break;
            }

            global = execution.Global;
            var record = new RoundRecord
            {
                Round = round,
                Train = execution.TrainMetrics,
                Evaluate = execution.EvaluateMetrics,
                TrainValues = NodeMetricValue.Sorted(execution.TrainValues),
                EvaluateValues = NodeMetricValue.Sorted(execution.EvaluateValues),
                Results = execution.Results,
                Failures = execution.Failures,
                Seconds = _time.GetElapsedTime(started).TotalSeconds,
            };
            execution = null!;
            history.Rounds.Add(record);
            RunTelemetry.RoundCompleted(record);
            await _observers.OnRoundCompletedAsync(record, global, CancellationToken.None).ConfigureAwait(false);

            if (cancelled)
            {
                Stop(history, new StopDecision(StopReasons.Cancelled, $"stopped by the operator during round {round}"));
                break;
            }

            int needed = Math.Max(1, _options.MinResults);
            if (record.Results < needed)
            {
                Stop(history, new StopDecision(StopReasons.NotEnoughResults, $"round {round} got {record.Results} usable replies, fewer than the {needed} required"));
                break;
            }

            if (AfterRound(history) is { } stop)
            {
                Stop(history, stop);
                break;
            }
        }

        if (history.StopReason is null)
        {
            Stop(history, new StopDecision(StopReasons.RoundLimit, $"reached the round limit of {_options.Rounds}"));
        }

        await _observers.OnRunFinishedAsync(history, global, CancellationToken.None).ConfigureAwait(false);

        return new RunResult(global, history);
    }

    private async ValueTask<StopDecision?> BeforeRoundAsync(int round, RunHistory history, CancellationToken cancellationToken)
    {
        var cancelled = new StopDecision(StopReasons.Cancelled, $"stopped by the operator before round {round}");
        if (cancellationToken.IsCancellationRequested)
        {
            return cancelled;
        }

        foreach (var rule in _rules)
        {
            try
            {
                if (await rule.BeforeRoundAsync(round, history, cancellationToken).ConfigureAwait(false) is { } veto)
                {
                    return veto;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return cancelled;
            }
        }

        return null;
    }

    private StopDecision? AfterRound(RunHistory history)
    {
        foreach (var rule in _rules)
        {
            if (rule.AfterRound(history) is { } stop)
            {
                return stop;
            }
        }

        return null;
    }

    private static void Stop(RunHistory history, StopDecision decision)
    {
        history.StopReason = decision.Reason;
        history.StopDetail = decision.Detail;
    }
}
