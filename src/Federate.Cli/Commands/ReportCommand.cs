using System.CommandLine;
using System.Text.Json;
using Federate.Core.Formats;

namespace Federate.Cli.Commands;

/// <summary><c>federate report</c>: draws a run's metrics per round as a PNG picture (ScottPlot).</summary>
internal static class ReportCommand
{
    private static readonly string[] ScoreMetrics = ["accuracy", "f1", "precision", "recall"];

    public static Command Create(TextWriter output)
    {
        var run = new Option<string>("--run") { Description = "Run output folder holding history.json (or the history.json file itself).", Required = true, HelpName = "DIR" };
        var outFile = CommonOptions.Create("--out", "PNG file to write.", "report.png", "FILE");
        var width = CommonOptions.Create("--width", "Image width in pixels.", 1000, "PX");
        var height = CommonOptions.Create("--height", "Image height in pixels.", 560, "PX");
        var command = new Command("report", "Draw a run's train and evaluate metrics per round as a picture.") { run, outFile, width, height };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(run)!;
            var file = Directory.Exists(path) ? Path.Combine(path, "history.json") : path;
            if (!File.Exists(file))
            {
                throw new UsageException($"no history.json at '{path}'; pass the --out folder of a federate sim or server run");
            }

            RunHistory history;
            try
            {
                history = HistoryJson.Parse(await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                var problem = ex is JsonException json ? JsonProblem.Describe(json) : "a field of a run history is missing or has the wrong type";
                throw new InvalidDataException($"'{file}' is not a run history federate can read: {problem}; pass the --out folder of a federate sim or server run (or export one with 'federate runs export')", ex);
            }

            int w = parse.GetValue(width);
            int h = parse.GetValue(height);
            if (w < 200 || h < 150 || w > 10000 || h > 10000)
            {
                throw new UsageException($"--width and --height must be between 200x150 and 10000x10000, got {w}x{h}");
            }

            var target = parse.GetValue(outFile)!;
            Render(history, target, w, h);
            await output.WriteLineAsync($"report: {Path.GetFullPath(target)} ({history.Rounds.Count} rounds)").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Draws scores (left axis, 0 to 1) and losses (right axis) per round.</summary>
    internal static void Render(RunHistory history, string path, int width, int height)
    {
        var plot = new ScottPlot.Plot();
        var rounds = history.Rounds.Select(r => (double)r.Round).ToArray();
        foreach (var metric in ScoreMetrics)
        {
            var points = history.Rounds.Where(r => r.Evaluate.ContainsKey(metric)).Select(r => (X: (double)r.Round, Y: r.Evaluate[metric])).ToArray();
            if (points.Length == 0)
            {
                continue;
            }

            var s = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            s.LegendText = $"evaluate {metric}";
            s.LineWidth = metric == "accuracy" ? 3 : 1.5f;
        }

        foreach (var (phase, select) in new (string, Func<RoundRecord, MetricRecord>)[] { ("train", r => r.Train), ("evaluate", r => r.Evaluate) })
        {
            var points = history.Rounds.Where(r => select(r).ContainsKey("loss")).Select(r => (X: (double)r.Round, Y: select(r)["loss"])).ToArray();
            if (points.Length == 0)
            {
                continue;
            }

            var s = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            s.LegendText = $"{phase} loss (right axis)";
            s.LinePattern = ScottPlot.LinePattern.Dashed;
            s.Axes.YAxis = plot.Axes.Right;
        }

        var failures = history.Rounds.Sum(r => r.Failures.Count);
        var dataset = history.Config.TryGetValue("dataset", out var d) ? d : "?";
        var model = history.Config.TryGetValue("model", out var m) ? m : "?";
        plot.Title($"run {history.RunId}: {dataset}, {model}, {rounds.Length} rounds, {failures} client failures, stop: {history.StopReason}");
        plot.XLabel("round");
        plot.YLabel("score");
        plot.Axes.Right.Label.Text = "loss";
        plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Left);
        plot.ShowLegend(ScottPlot.Alignment.MiddleRight);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        plot.SavePng(path, width, height);
    }
}
