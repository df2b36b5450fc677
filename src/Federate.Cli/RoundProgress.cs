using System.Globalization;
using Federate.Core;
using Spectre.Console;

namespace Federate.Cli;

/// <summary>
/// Shows a run as it goes: a live status line (in a terminal) and one line per round, then a final table.
/// </summary>
internal sealed class RoundProgress(IAnsiConsole console, int totalRounds) : IRunObserver
{
    private StatusContext? _status;
    private int _round;
    private int _sampled;
    private int _replies;

    public async Task<RunResult> RunAsync(Func<CancellationToken, Task<RunResult>> run, CancellationToken cancellationToken)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return await run(cancellationToken).ConfigureAwait(false);
        }

        return await console.Status().Spinner(Spinner.Known.Dots).StartAsync("starting", async ctx =>
        {
            _status = ctx;
            return await run(cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public void OnRoundStarted(int round, int sampled)
    {
        _round = round;
        _sampled = sampled;
        _replies = 0;
        _status?.Status($"round {round}/{totalRounds}: training on {sampled} clients");
    }

    public void OnReply(int round, MessageType phase, Message reply)
    {
        if (phase == MessageType.Train)
        {
            _replies++;
            _status?.Status($"round {_round}/{totalRounds}: {_replies}/{_sampled} clients replied");
        }
        else
        {
            _status?.Status($"round {_round}/{totalRounds}: evaluating");
        }
    }

    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"round {record.Round,3}/{totalRounds}  loss {Fmt(record.Train, "loss")} train, {Fmt(record.Evaluate, "loss")} eval  accuracy {Fmt(record.Evaluate, "accuracy")}  f1 {Fmt(record.Evaluate, "f1")}  {record.Results} ok {record.Failures.Count} failed  {record.Seconds:0.00}s");
        console.WriteLine(line + PrivacySuffix(record.Train));
    }

    /// <summary>"  epsilon sample 11.54 user 10.73 (delta 1e-05)" when the round reports privacy metrics.</summary>
    private static string PrivacySuffix(MetricRecord train)
    {
        var parts = new List<string>();
        if (train.TryGetValue("cumulative_sample_epsilon", out var sample))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"sample {sample:0.##}"));
        }

        if (train.TryGetValue("cumulative_user_epsilon", out var user))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"user {user:0.##}"));
        }

        return parts.Count == 0 ? "" : "  epsilon " + string.Join(" ", parts);
    }

    public void WriteSummary(RunHistory history, string historyPath, string modelPath, TimeSpan elapsed)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("round", "train loss", "eval loss", "accuracy", "f1", "recall", "ok", "failed", "s");
        foreach (var r in history.Rounds)
        {
            table.AddRow(
                r.Round.ToString(CultureInfo.InvariantCulture),
                Fmt(r.Train, "loss"),
                Fmt(r.Evaluate, "loss"),
                Fmt(r.Evaluate, "accuracy"),
                Fmt(r.Evaluate, "f1"),
                Fmt(r.Evaluate, "recall"),
                r.Results.ToString(CultureInfo.InvariantCulture),
                r.Failures.Count.ToString(CultureInfo.InvariantCulture),
                r.Seconds.ToString("0.0", CultureInfo.InvariantCulture));
        }

        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped: {history.StopReason} ({history.StopDetail}) after {elapsed.TotalSeconds:0.0}s"));
        console.WriteLine($"history: {Path.GetFullPath(historyPath)}");
        console.WriteLine($"model:   {Path.GetFullPath(modelPath)}");
    }

    private static string Fmt(MetricRecord m, string key) => m.TryGetValue(key, out var v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-";
}
