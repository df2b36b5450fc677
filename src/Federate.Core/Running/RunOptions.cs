namespace Federate.Core.Running;

/// <summary>Settings of the run driver.</summary>
public sealed class RunOptions
{
    /// <summary>Run id; a new GUID by default.</summary>
    public string RunId { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>Seed for every random choice of the run. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Maximum number of rounds. Default 10.</summary>
    public int Rounds { get; set; } = 10;

    /// <summary>
    /// Convergence threshold (design 1): stop when the evaluate metric <see cref="ThresholdMetric"/> changes by less
    /// than this between two consecutive rounds. Null disables it.
    /// </summary>
    public double? Threshold { get; set; }

    /// <summary>The metric the threshold and target watch. Default "accuracy".</summary>
    public string ThresholdMetric { get; set; } = "accuracy";

    /// <summary>Stop once this evaluate metric reaches the value (for "loss", once it falls to it).</summary>
    public (string Metric, double Value)? Target { get; set; }

    /// <summary>Nodes to wait for before each round. Default 1.</summary>
    public int MinNodes { get; set; } = 1;

    /// <summary>Rounds fail when fewer usable train replies than this arrive. Default 1.</summary>
    public int MinResults { get; set; } = 1;

    /// <summary>Deadline for replies in each phase of a round. Default infinite.</summary>
    public TimeSpan RoundTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Config sent to clients with every train instruction (server_round is added).</summary>
    public ConfigRecord TrainConfig { get; set; } = new();

    /// <summary>Config sent to clients with every evaluate instruction (server_round is added).</summary>
    public ConfigRecord EvaluateConfig { get; set; } = new();

    /// <summary>
    /// The rules that may end the run, in order, besides the round limit: <see cref="Target"/> and
    /// <see cref="Threshold"/> are checked first (after each round), then these (a privacy budget, an operator gate;
    /// see <see cref="StopRules"/>).
    /// </summary>
    public IList<IStopRule> StopRules { get; } = [];

    /// <summary>The stages of every round, in order (default: train, then evaluate).</summary>
    public IList<IRoundStage> Stages { get; } = [new TrainStage(), new EvaluateStage()];

    /// <summary>
    /// Continue an interrupted run instead of starting one: the history gets the completed rounds back and the loop
    /// starts after the last of them. Null (the default) starts at round 1.
    /// </summary>
    public RunResume? Resume { get; set; }

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (Rounds < 1)
        {
            return $"'rounds' must be at least 1, got {Rounds}";
        }

        if (Threshold is { } t && !(t >= 0))
        {
            return $"'threshold' must be a non-negative number, got {t}";
        }

        if (MinNodes < 1)
        {
            return $"'min_clients' must be at least 1, got {MinNodes}";
        }

        return null;
    }
}
