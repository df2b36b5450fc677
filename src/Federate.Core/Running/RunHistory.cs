namespace Federate.Core.Running;

/// <summary>The history of a run: its config, each round, and why it stopped.</summary>
public sealed class RunHistory
{
    /// <summary>The run id.</summary>
    public required string RunId { get; init; }

    /// <summary>The settings the run was started with (written to history.json as "config").</summary>
    public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();

    /// <summary>Completed rounds in order.</summary>
    public List<RoundRecord> Rounds { get; } = [];

    /// <summary>One of <see cref="StopReasons"/>, or null while running.</summary>
    public string? StopReason { get; set; }

    /// <summary>A sentence saying why the run stopped.</summary>
    public string? StopDetail { get; set; }

    /// <summary>The last evaluate value of a metric, if any round reported it.</summary>
    public double? LastEvaluate(string metric)
    {
        for (int i = Rounds.Count - 1; i >= 0; i--)
        {
            if (Rounds[i].Evaluate.TryGetValue(metric, out var v))
            {
                return v;
            }
        }

        return null;
    }
}
