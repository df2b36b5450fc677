using System.Globalization;
using System.Text.RegularExpressions;
using Federate.Core;
using Federate.State;

namespace Federate.Chaos;

/// <summary>
/// What a finished trial left behind, checked against the uninterrupted reference: the final model's bytes,
/// history.json's rounds, the state database's run and rounds, and its append-only events log.
/// </summary>
/// <param name="Identical">model.safetensors byte-identical to the reference's.</param>
/// <param name="RoundsOnce">Rounds 1..R exactly once in history.json and in the state database, run finished.</param>
/// <param name="AuditComplete">Events: one run_started, round_completed for 1..R once each in order, one run_resumed per later server process, one run_finished last, ids without gaps.</param>
/// <param name="Problems">What did not hold, in words.</param>
/// <param name="ShortRounds">Rounds aggregated with fewer train results than clients (a client's reply was lost to the fault).</param>
public sealed partial record DeploymentCheck(bool Identical, bool RoundsOnce, bool AuditComplete, IReadOnlyList<string> Problems, int ShortRounds = 0)
{
    /// <summary>Checks <paramref name="outDir"/> and <paramref name="stateDir"/> of a run of <paramref name="rounds"/> rounds with <paramref name="clients"/> clients.</summary>
    public static DeploymentCheck Inspect(string outDir, string stateDir, byte[] referenceModel, int rounds, int clients)
    {
        var problems = new List<string>();
        var modelPath = Path.Combine(outDir, "model.safetensors");
        bool identical = File.Exists(modelPath) && File.ReadAllBytes(modelPath).AsSpan().SequenceEqual(referenceModel);
        if (!identical)
        {
            problems.Add(File.Exists(modelPath) ? "model differs from the reference" : "no model.safetensors");
        }

        var expected = Enumerable.Range(1, rounds).ToList();
        bool roundsOnce = true;
        int shortRounds = 0;
        var historyPath = Path.Combine(outDir, "history.json");
        if (!File.Exists(historyPath))
        {
            roundsOnce = false;
            problems.Add("no history.json");
        }
        else
        {
            var history = HistoryJson.Parse(File.ReadAllText(historyPath));
            var got = history.Rounds.Select(r => r.Round).ToList();
            shortRounds = history.Rounds.Count(r => r.Results < clients);
            if (!got.SequenceEqual(expected))
            {
                roundsOnce = false;
                problems.Add($"history.json rounds {string.Join(',', got)}");
            }
        }

        bool audit = true;
        using (var store = StateStore.OpenExisting(stateDir))
        {
            var runs = store.ListRuns();
            if (runs.Count != 1 || runs[0] is not { Status: "finished" } run || run.RoundsDone != rounds)
            {
                roundsOnce = false;
                problems.Add($"state database runs: {string.Join("; ", runs.Select(r => $"{r.Id[..8]} {r.Status} {r.RoundsDone} rounds"))}");
                return new DeploymentCheck(identical, false, false, problems, shortRounds);
            }

            var stored = store.Rounds(run.Id).Select(r => r.Round).ToList();
            if (!stored.SequenceEqual(expected))
            {
                roundsOnce = false;
                problems.Add($"state database rounds {string.Join(',', stored)}");
            }

            var events = store.Events();
            var ids = events.Select(e => e.Id).ToList();
            if (ids.Count == 0 || !ids.SequenceEqual(Enumerable.Range((int)ids[0], ids.Count).Select(i => (long)i)))
            {
                audit = false;
                problems.Add("events log has gaps");
            }

            var completed = events.Where(e => e.Kind == "round_completed").Select(e => int.Parse(RoundNumber().Match(e.Detail).Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            int started = events.Count(e => e.Kind == "run_started");
            int resumed = events.Count(e => e.Kind == "run_resumed");
            int finished = events.Count(e => e.Kind == "run_finished");
            if (!completed.SequenceEqual(expected))
            {
                audit = false;
                problems.Add($"round_completed events for rounds {string.Join(',', completed)}");
            }

            if (started != 1 || finished != 1 || events[^1].Kind != "run_finished" || resumed != run.Generation - 1)
            {
                audit = false;
                problems.Add($"events: {started} run_started, {resumed} run_resumed for {run.Generation} server processes, {finished} run_finished, last '{events[^1].Kind}'");
            }
        }

        return new DeploymentCheck(identical, roundsOnce, audit, problems, shortRounds);
    }

    [GeneratedRegex(@"^round (\d+) ")]
    private static partial Regex RoundNumber();
}
