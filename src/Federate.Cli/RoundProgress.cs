using System.Globalization;
using Federate.Core;
using Spectre.Console;

namespace Federate.Cli;

/// <summary>
/// Shows a run as it goes: in a terminal, a live progress bar (round, clients replied, last accuracy, elapsed time and
/// ETA) above which one line per round is printed; elsewhere (logs, pipes, tests) only the line per round. Then a
/// final table. Rounds show the evaluate metric <paramref name="quality"/> next to accuracy (f1, or dice for a
/// segmentation model).
/// </summary>
internal sealed class RoundProgress(IAnsiConsole console, int totalRounds, string quality = "f1") : IRunObserver
{
    private ProgressTask? _bar;
    private int _round;
    private int _sampled;
    private int _replies;
    private string _last = "";

    public async Task<RunResult> RunAsync(Func<CancellationToken, Task<RunResult>> run, CancellationToken cancellationToken)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return await run(cancellationToken).ConfigureAwait(false);
        }

        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                _bar = ctx.AddTask("starting", maxValue: Math.Max(1, totalRounds));
                try
                {
                    return await run(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _bar.StopTask();
                }
            }).ConfigureAwait(false);
    }

    public void OnRunStarted(RunHistory history, ArrayRecord initial)
    {
        // A resumed run starts with its completed rounds done.
        _bar?.Value(history.Rounds.Count);
    }

    public void OnRoundStarted(int round, int sampled)
    {
        _round = round;
        _sampled = sampled;
        _replies = 0;
        Describe($"training on {sampled} clients");
    }

    public void OnReply(int round, MessageType phase, Message reply)
    {
        if (phase == MessageType.Train)
        {
            _replies++;
            Describe($"{_replies}/{_sampled} clients replied");
        }
        else
        {
            Describe("evaluating");
        }
    }

    private void Describe(string what)
    {
        if (_bar is not null)
        {
            _bar.Description = Markup.Escape($"round {_round}/{totalRounds}: {what}{_last}");
        }
    }

    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"round {record.Round,3}/{totalRounds}  loss {Fmt(record.Train, "loss")} train, {Fmt(record.Evaluate, "loss")} eval  accuracy {Fmt(record.Evaluate, "accuracy")}  {quality} {Fmt(record.Evaluate, quality)}  {record.Results} ok {record.Failures.Count} failed  {record.Seconds:0.00}s");
        console.WriteLine(line + PrivacySuffix(record.Train));
        if (_bar is not null)
        {
            _last = $"  (last accuracy {Fmt(record.Evaluate, "accuracy")})";
            _bar.Increment(1);
            Describe("done");
        }
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
        table.AddColumns("round", "train loss", "eval loss", "accuracy", quality, "recall", "ok", "failed", "s");
        foreach (var r in history.Rounds)
        {
            table.AddRow(
                r.Round.ToString(CultureInfo.InvariantCulture),
                Fmt(r.Train, "loss"),
                Fmt(r.Evaluate, "loss"),
                Fmt(r.Evaluate, "accuracy"),
                Fmt(r.Evaluate, quality),
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
