using System.Text.Json;

namespace Federate.Cli.Commands;

/// <summary>The one-object JSON summary printed by <c>--json</c>.</summary>
internal static class SummaryJson
{
    public static string Create(RunHistory history, Simulation.SimulationSettings s, TimeSpan elapsed, string historyPath, string modelPath)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("run_id", history.RunId);
            w.WriteString("dataset", s.Dataset);
            w.WriteString("model", s.Model);
            w.WriteNumber("clients", s.Clients);
            w.WriteNumber("rounds", history.Rounds.Count);
            w.WriteString("stop_reason", history.StopReason);
            w.WriteString("stop_detail", history.StopDetail);
            var last = history.Rounds.Count > 0 ? history.Rounds[^1] : null;
            WriteMetrics(w, "train", last?.Train);
            WriteMetrics(w, "evaluate", last?.Evaluate);
            w.WriteNumber("failures", history.Rounds.Sum(r => r.Failures.Count));
            w.WriteNumber("seconds", Math.Round(elapsed.TotalSeconds, 3));
            w.WriteString("history", Path.GetFullPath(historyPath));
            w.WriteString("model_file", Path.GetFullPath(modelPath));
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteMetrics(Utf8JsonWriter w, string name, MetricRecord? metrics)
    {
        w.WriteStartObject(name);
        if (metrics is not null)
        {
            foreach (var (k, v) in metrics)
            {
                if (double.IsFinite(v))
                {
                    w.WriteNumber(k, v);
                }
            }
        }

        w.WriteEndObject();
    }
}
