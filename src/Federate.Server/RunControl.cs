namespace Federate.Server;

/// <summary>
/// Operator control of a run (inspector actions): start each round by hand (manual mode), start the run, stop it,
/// reset it. Give <see cref="BeforeRoundAsync"/> to the run as a stop rule (<see cref="StopRules.BeforeRoundAsync"/>). A stop takes effect
/// before the next round (a round in flight completes, so every recorded round is whole).
/// </summary>
public sealed class RunControl
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _permits;
    private bool _automatic;
    private int? _waiting;
    private bool _active;
    private bool _inRound;
    private int _lastRound;
    private bool _reset;
    private (string Reason, string Detail)? _stop;

    /// <summary>Creates the control; in manual mode every round waits for an admin.</summary>
    public RunControl(bool manual)
    {
        Manual = manual;
        _automatic = !manual;
    }

    /// <summary>Rounds start only when an admin asks.</summary>
    public bool Manual { get; }

    /// <summary>Raised (outside the lock) whenever the state changes.</summary>
    public event Action<RunControlState>? Changed;

    /// <summary>True once an admin asked for a reset (cleared by <see cref="BeginRun"/>).</summary>
    public bool ResetRequested
    {
        get
        {
            lock (_lock)
            {
                return _reset;
            }
        }
    }

    /// <summary>The current state.</summary>
    public RunControlState State
    {
        get
        {
            lock (_lock)
            {
                return Snapshot();
            }
        }
    }

    /// <summary>A run starts: pending requests of an earlier run are forgotten.</summary>
    public void BeginRun()
    {
        lock (_lock)
        {
            _permits = 0;
            _automatic = !Manual;
            _waiting = null;
            _stop = null;
            _reset = false;
            _active = true;
            _inRound = false;
            _lastRound = 0;
        }

        Signal();
    }

    /// <summary>The run ended (any reason).</summary>
    public void EndRun()
    {
        lock (_lock)
        {
            _active = false;
            _waiting = null;
            _inRound = false;
        }

        Signal();
    }

    /// <summary>
    /// The gate before each round: returns at once in automatic mode, waits for "next round" or "start run" in manual
    /// mode, and returns <see cref="StopReasons.OperatorStop"/> once an admin stopped or reset the run.
    /// </summary>
    public async ValueTask<(string Reason, string Detail)?> BeforeRoundAsync(int round, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            bool announce;
            lock (_lock)
            {
                _inRound = false;
                _lastRound = round - 1;
                if (_stop is { } stop)
                {
                    _waiting = null;
                    return stop;
                }

                if (_automatic || _permits > 0)
                {
                    _permits = Math.Max(0, _permits - 1);
                    announce = _waiting is not null;
                    _waiting = null;
                    _inRound = true;
                    _lastRound = round;
                    changed = Task.CompletedTask;
                }
                else
                {
                    announce = _waiting != round;
                    _waiting = round;
                    changed = _changed.Task;
                }
            }

            if (announce)
            {
                Changed?.Invoke(State);
            }

            if (changed.IsCompleted)
            {
                return null;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lets one more round start (manual mode). Returns null, or why not (a conflict with the run's state).</summary>
    public string? RequestRound() => RequestRound(out _);

    /// <summary>Lets one more round start (manual mode); <paramref name="round"/> is the round it lets start.</summary>
    public string? RequestRound(out int round)
    {
        round = 0;
        lock (_lock)
        {
            if (NotAcceptingRounds() is { } refused)
            {
                return refused;
            }

            if (_automatic)
            {
                return Manual
                    ? "the run is already running its rounds one after another"
                    : "rounds start automatically on this server; start it with --manual to start each round by hand";
            }

            if (_inRound || _permits > 0)
            {
                return "a round is already in progress; wait until it completes";
            }

            _permits++;
            round = _waiting ?? (_lastRound + 1);
        }

        Signal();
        return null;
    }

    /// <summary>Runs the remaining rounds one after another without waiting. Returns null, or why not.</summary>
    public string? RequestStart()
    {
        lock (_lock)
        {
            if (NotAcceptingRounds() is { } refused)
            {
                return refused;
            }

            if (_automatic)
            {
                return "the run is already running";
            }

            _automatic = true;
        }

        Signal();
        return null;
    }

    /// <summary>Ends the run before its next round (<see cref="StopReasons.OperatorStop"/>). Returns null, or why not.</summary>
    public string? RequestStop(string who)
    {
        lock (_lock)
        {
            if (!_active)
            {
                return "no run is in progress";
            }

            if (_stop is not null)
            {
                return "the run is already stopping";
            }

            _stop = (StopReasons.OperatorStop, $"stopped by {who} through the inspector");
        }

        Signal();
        return null;
    }

    /// <summary>Ends the run (if one is in progress) and asks for a new one with a fresh model and history.</summary>
    public void RequestReset(string who)
    {
        lock (_lock)
        {
            _reset = true;
            if (_active)
            {
                _stop ??= (StopReasons.OperatorStop, $"reset by {who} through the inspector");
            }
        }

        Signal();
    }

    /// <summary>Waits until an admin asks for a reset (between runs in manual mode).</summary>
    public async Task WaitForResetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_reset)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Why no more rounds can be asked for (no run, or it is stopping), or null. Call under the lock.</summary>
    private string? NotAcceptingRounds() =>
        !_active ? "no run is in progress (the last one has ended); reset to start a new run"
        : _stop is not null ? "the run is stopping; reset to start a new run"
        : null;

    private RunControlState Snapshot() => new(Manual, _automatic, _waiting, _active, _stop is not null);

    private void Signal()
    {
        RunControlState state;
        lock (_lock)
        {
            var old = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            old.TrySetResult();
            state = Snapshot();
        }

        Changed?.Invoke(state);
    }
}
