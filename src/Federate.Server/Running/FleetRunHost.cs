using Federate.Core;
using Federate.State;

namespace Federate.Server.Running;

/// <summary>
/// Hosts run plans on a fleet server: prepares (or resumes) the run before the server listens, so a resumed run's
/// node ids start above the earlier processes' ones; starts the server; runs the plan over the fleet grid with the
/// operator gate and the server's observers; writes the outputs; keeps serving the inspector after a manual run
/// until a reset (each reset runs a new plan on the connected clients); and tells the clients when it is over.
/// The command line's <c>federate server</c> is this class with options parsed.
/// </summary>
public sealed class FleetRunHost
{
    /// <summary>Node ids handed out by each server process of a run (a resumed process starts above them).</summary>
    public const long NodeIdsPerGeneration = 1_000_000;

    private readonly FleetServerOptions _options;
    private readonly Func<RunPlan> _createPlan;
    private readonly Action<string> _log;

    /// <summary>
    /// Creates the host. <paramref name="createPlan"/> is called for the first run and after every reset (a fresh
    /// strategy and run id each time); plans that share a state directory resume through it.
    /// <paramref name="log"/> receives the host's one-line messages (inspector address, outputs, resets).
    /// </summary>
    public FleetRunHost(FleetServerOptions options, Func<RunPlan> createPlan, Action<string>? log = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _createPlan = createPlan ?? throw new ArgumentNullException(nameof(createPlan));
        _log = log ?? (_ => { });
    }

    /// <summary>
    /// The state directory: every run is checkpointed there each round, and a restart with the same settings resumes
    /// the unfinished run (null: runs are not durable). Locked while the host runs.
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>Start a new run even if the state directory holds an unfinished or finished run with these settings.</summary>
    public bool NewRun { get; init; }

    /// <summary>Keep only the newest N round checkpoints of a run in the state directory (0, the default: all).</summary>
    public int KeepCheckpoints
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>Runs until the run ends (or the operator stops the server) and returns the last run's result.</summary>
    public async Task<RunResult> RunAsync(Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        using var state = StateDirectory is null ? null : State.StateDirectory.Open(StateDirectory, _log);
        if (state is not null)
        {
            state.KeepCheckpoints = KeepCheckpoints;
        }

        var plan = NextPlan(state);
        var run = FederatedRun.Prepare(plan, NewRun);
        if (run.Start?.AlreadyFinished == true && _options.Inspector?.Manual == true)
        {
            // A manual (dashboard-driven) server is there to run: the finished run stays finished, a new one starts.
            plan = NextPlan(state);
            run = FederatedRun.Prepare(plan, newRun: true);
            _log($"state: manual mode: starting run {run.RunId}");
        }

        if (run.Start?.AlreadyFinished == true)
        {
            // Nothing to serve: the same settings already ran to the end (the state directory said so).
            return await run.RunAsync(NoGrid.Instance, cancellationToken).ConfigureAwait(false);
        }

        _options.RunId = run.RunId;
        _options.FirstNodeId = (((run.Start?.Generation ?? 1) - 1) * NodeIdsPerGeneration) + 1;
        if (_options.Inspector is { } inspector)
        {
            inspector.StateStore ??= (plan.Durability as StateDirectory)?.Store;
            foreach (var (key, value) in plan.Outputs?.ModelMetadata ?? new Dictionary<string, string>())
            {
                inspector.ModelMetadata[key] = value;
            }
        }

        await using var server = await FleetServer.StartAsync(_options, configureLogging, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (server.InspectorUrl is { } dashboard)
        {
            _log($"inspector: {dashboard}");
        }

        RunResult result;
        while (true)
        {
            server.Control.BeginRun();
            plan.Options.StopRules.Add(StopRules.BeforeRoundAsync(server.Control.BeforeRoundAsync));
            plan.Observers.Add(server.Observer);
            result = await run.RunAsync(server.Grid, cancellationToken).ConfigureAwait(false);
            server.Control.EndRun();
            if (plan.Outputs is { } outputs)
            {
                _log($"wrote {outputs.HistoryPath} and {outputs.ModelPath}");
            }

            // Manual mode keeps serving the inspector after a run ends: a reset there starts a new run.
            bool reset = server.Control.ResetRequested;
            if (!reset && server.Control.Manual && result.History.StopReason != StopReasons.Cancelled)
            {
                _log("run ended; the inspector stays up: reset there to start a new run, Ctrl+C to quit");
                try
                {
                    await server.Control.WaitForResetAsync(cancellationToken).ConfigureAwait(false);
                    reset = true;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C: the server ends.
                }
            }

            if (!reset || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            // Reset: a new run with a fresh model, strategy state and history, on the same connected clients.
            plan = NextPlan(state);
            run = FederatedRun.Prepare(plan, newRun: true);
            _log($"reset: starting run {run.RunId}");
        }

        await server.FinishAsync(result.History, CancellationToken.None).ConfigureAwait(false);
        return result;
    }

    private sealed class NoGrid : IGrid
    {
        public static readonly NoGrid Instance = new();

        public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) => throw new InvalidOperationException("no grid");

        public IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, CancellationToken cancellationToken) => throw new InvalidOperationException("no grid");
    }

    private RunPlan NextPlan(StateDirectory? state)
    {
        var plan = _createPlan();
        if (state is not null)
        {
            plan.Durability ??= state;
            foreach (var (key, value) in plan.Outputs?.ModelMetadata ?? new Dictionary<string, string>())
            {
                state.CheckpointMetadata[key] = value;
            }
        }

        return plan;
    }
}
