using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Federate.State;

namespace Federate.Cli.Commands;

/// <summary><c>federate runs list|show|export</c>: the runs recorded in a server's state directory.</summary>
internal static class RunsCommand
{
    public static Command Create(TextWriter output) =>
        new Command("runs", "Runs recorded in a server's state directory (--state-dir).") { CreateList(output), CreateShow(output), CreateExport(output) };

    private static Option<string> StateDir() => CommonOptions.Create("--state-dir", "The server's state directory.", "./federate-state", "DIR");

    private static Option<bool> Json() => new("--json") { Description = "Print JSON." };

    private static Command CreateList(TextWriter output)
    {
        var dir = StateDir();
        var json = Json();
        var command = new Command("list", "List runs: id, status, rounds done, stop reason.") { dir, json };
        command.SetAction(parse =>
        {
            var runs = RecordedRuns.List(parse.GetValue(dir)!);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(runs.Select(r => new Dictionary<string, object?>
                {
                    ["run_id"] = r.Id,
                    ["status"] = r.Status,
                    ["rounds_done"] = r.RoundsDone,
                    ["stop_reason"] = r.StopReason,
                    ["stop_detail"] = r.StopDetail,
                    ["server_processes"] = r.Generation,
                    ["created_at"] = r.CreatedAt,
                })));
                return ExitCodes.Success;
            }

            if (runs.Count == 0)
            {
                output.WriteLine("no runs");
                return ExitCodes.Success;
            }

            output.WriteLine($"{"RUN",-36}  {"STATUS",-9}  {"ROUNDS",6}  STOP");
            foreach (var r in runs)
            {
                output.WriteLine($"{r.Id,-36}  {r.Status,-9}  {r.RoundsDone,6}  {r.StopReason ?? "-"}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateShow(TextWriter output)
    {
        var dir = StateDir();
        var json = Json();
        var run = new Argument<string>("RUN") { Description = "Run id (or a unique prefix)." };
        var command = new Command("show", "Show one run's rounds.") { run, dir, json };
        command.SetAction(parse =>
        {
            var (row, history) = RecordedRuns.Find(parse.GetValue(dir)!, parse.GetValue(run)!);
            if (parse.GetValue(json))
            {
                output.WriteLine(HistoryJson.Serialize(history));
                return ExitCodes.Success;
            }

            output.WriteLine($"run {row.Id}: {row.Status}, {row.RoundsDone} rounds, {row.Generation} server process(es){(row.StopReason is null ? "" : $", stopped: {row.StopDetail ?? row.StopReason}")}");
            foreach (var r in history.Rounds)
            {
                var metrics = string.Join(", ", r.Evaluate.Where(kv => kv.Key != RecordNames.NumExamples).Select(kv => string.Create(CultureInfo.InvariantCulture, $"evaluate {kv.Key} {kv.Value:0.####}")));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r.Round}: {r.Results} results, {r.Failures.Count} failures{(metrics.Length == 0 ? "" : ", " + metrics)} ({r.Seconds:0.000} s)"));
                foreach (var (phase, values) in new[] { ("train", r.TrainValues), ("evaluate", r.EvaluateValues) })
                {
                    foreach (var v in values)
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase} {v.Key} node {v.NodeId}: {v.Display}"));
                    }
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateExport(TextWriter output)
    {
        var dir = StateDir();
        var run = new Argument<string>("RUN") { Description = "Run id (or a unique prefix)." };
        var outFile = CommonOptions.CreateOptional<string>("--out", "Write history.json here instead of standard output.", "FILE");
        var command = new Command("export", "Export one run's history.json.") { run, dir, outFile };
        command.SetAction(parse =>
        {
            var (row, history) = RecordedRuns.Find(parse.GetValue(dir)!, parse.GetValue(run)!);
            if (parse.GetValue(outFile) is { } path)
            {
                HistoryJson.WriteFile(path, history);
                output.WriteLine($"wrote {path}");
            }
            else
            {
                output.WriteLine(HistoryJson.Serialize(history));
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
