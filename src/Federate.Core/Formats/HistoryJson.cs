using System.Text.Json;

namespace Federate.Core.Formats;

/// <summary>
/// Writes and reads <c>history.json</c>: <c>{"run_id", "config", "rounds": [{"round", "train", "evaluate",
/// "clients": {"results", "failures", "failed"}, "seconds"}], "stop_reason", "stop_detail"}</c>. A round whose nodes
/// reported metrics that are not numbers also has <c>"train_values"</c> / <c>"evaluate_values"</c>: a list of
/// <c>{"node_id", "key", "value"}</c> (a string) or <c>{"node_id", "key", "bytes"}</c> (base64).
/// </summary>
public static class HistoryJson
{
    /// <summary>Serializes a history to indented JSON.</summary>
    public static string Serialize(RunHistory history)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            Write(w, history);
        }

        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes a history to a file atomically.</summary>
    public static void WriteFile(string path, RunHistory history)
    {
        var tmp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(tmp, Serialize(history));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Writes a history as a JSON object.</summary>
    public static void Write(Utf8JsonWriter w, RunHistory history)
    {
        w.WriteStartObject();
        w.WriteString("run_id", history.RunId);
        w.WriteStartObject("config");
        foreach (var (key, value) in history.Config)
        {
            w.WritePropertyName(key);
            WriteValue(w, value);
        }

        w.WriteEndObject();
        w.WriteStartArray("rounds");
        foreach (var r in history.Rounds)
        {
            w.WriteStartObject();
            w.WriteNumber("round", r.Round);
            WriteMetrics(w, "train", r.Train);
            WriteMetrics(w, "evaluate", r.Evaluate);
            WriteValues(w, "train_values", r.TrainValues);
            WriteValues(w, "evaluate_values", r.EvaluateValues);
            w.WriteStartObject("clients");
            w.WriteNumber("results", r.Results);
            w.WriteNumber("failures", r.Failures.Count);
            w.WriteStartArray("failed");
            foreach (var f in r.Failures)
            {
                w.WriteStartObject();
                w.WriteNumber("node_id", f.NodeId);
                w.WriteString("phase", f.Phase);
                w.WriteString("code", f.Code);
                w.WriteString("reason", f.Reason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNumber("seconds", Math.Round(r.Seconds, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (history.StopReason is null)
        {
            w.WriteNull("stop_reason");
        }
        else
        {
            w.WriteString("stop_reason", history.StopReason);
        }

        w.WriteString("stop_detail", history.StopDetail);
        w.WriteEndObject();
    }

    /// <summary>Reads a history written by <see cref="Serialize"/>.</summary>
    public static RunHistory Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var config = new Dictionary<string, object?>();
        if (root.TryGetProperty("config", out var cfg))
        {
            foreach (var p in cfg.EnumerateObject())
            {
                config[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.Number => p.Value.TryGetInt64(out var l) ? (object)l : p.Value.GetDouble(),
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => p.Value.GetRawText(),
                };
            }
        }

        var history = new RunHistory { RunId = root.GetProperty("run_id").GetString() ?? "", Config = config };
        foreach (var r in root.GetProperty("rounds").EnumerateArray())
        {
            var failures = new List<RoundFailure>();
            var clients = r.GetProperty("clients");
            if (clients.TryGetProperty("failed", out var failed))
            {
                foreach (var f in failed.EnumerateArray())
                {
                    failures.Add(new RoundFailure(f.GetProperty("node_id").GetInt64(), f.GetProperty("phase").GetString() ?? "", f.GetProperty("code").GetString() ?? "", f.GetProperty("reason").GetString() ?? ""));
                }
            }

            history.Rounds.Add(new RoundRecord
            {
                Round = r.GetProperty("round").GetInt32(),
                Train = ReadMetrics(r.GetProperty("train")),
                Evaluate = ReadMetrics(r.GetProperty("evaluate")),
                TrainValues = ReadValues(r, "train_values"),
                EvaluateValues = ReadValues(r, "evaluate_values"),
                Results = clients.GetProperty("results").GetInt32(),
                Failures = failures,
                Seconds = r.GetProperty("seconds").GetDouble(),
            });
        }

        history.StopReason = root.TryGetProperty("stop_reason", out var s) ? s.GetString() : null;
        history.StopDetail = root.TryGetProperty("stop_detail", out var d) ? d.GetString() : null;
        return history;
    }

    private static MetricRecord ReadMetrics(JsonElement e)
    {
        var m = new MetricRecord();
        foreach (var p in e.EnumerateObject())
        {
            m[p.Name] = p.Value.GetDouble();
        }

        return m;
    }

    private static List<NodeMetricValue> ReadValues(JsonElement round, string name)
    {
        var values = new List<NodeMetricValue>();
        if (round.TryGetProperty(name, out var list))
        {
            foreach (var v in list.EnumerateArray())
            {
                ConfigValue value = v.TryGetProperty("bytes", out var b) ? b.GetBytesFromBase64() : v.GetProperty("value").GetString() ?? "";
                values.Add(new NodeMetricValue(v.GetProperty("node_id").GetInt64(), v.GetProperty("key").GetString() ?? "", value));
            }
        }

        return values;
    }

    private static void WriteValues(Utf8JsonWriter w, string name, IReadOnlyList<NodeMetricValue> values)
    {
        if (values.Count == 0)
        {
            return; // histories without such metrics keep their shape
        }

        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStartObject();
            w.WriteNumber("node_id", v.NodeId);
            w.WriteString("key", v.Key);
            if (v.Value.Kind == ConfigValueKind.Bytes)
            {
                w.WriteBase64String("bytes", v.Value.AsBytes());
            }
            else
            {
                w.WriteString("value", v.Value.AsString());
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteMetrics(Utf8JsonWriter w, string name, MetricRecord metrics)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in metrics)
        {
            if (double.IsFinite(v))
            {
                w.WriteNumber(k, v);
            }
            else
            {
                w.WriteNull(k);
            }
        }

        w.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case string s: w.WriteStringValue(s); break;
            default: w.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)); break;
        }
    }
}
