namespace Federate.Server.Inspector;

/// <summary>One run as the inspector shows it; rounds are appended as they complete.</summary>
internal sealed class RunView(string id, IReadOnlyDictionary<string, object?> config, DateTimeOffset startedAt)
{
    public string Id { get; } = id;

    public IReadOnlyDictionary<string, object?> Config { get; } = config;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public List<RoundRecord> Rounds { get; } = [];

    public int? RoundInFlight { get; set; }

    public string? StopReason { get; set; }

    public string? StopDetail { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string Status => StopReason is null ? "running" : StopReason == StopReasons.Cancelled ? "interrupted" : "finished";
}
