// A simulation with DP-SGD on every client and a privacy budget, made durable by a state directory, run from C#:
// the first attempt is stopped after round 2 (as a crash would stop it), the second resumes from the checkpoint,
// and the final model equals the one of an uninterrupted run byte for byte.
// Run: dotnet run --project samples/SimulationWithPrivacyAndResume
using Federate.Core;
using Federate.Simulation;

var work = Path.Combine(Path.GetTempPath(), "federate-sample-" + Guid.NewGuid().ToString("N")[..8]);
SimulationSettings Settings(string name, bool durable) => new()
{
    Dataset = "breast-cancer",
    Model = "logistic",
    Clients = 4,
    Rounds = 6,
    LocalEpochs = 2,
    Seed = 11,
    Privacy = { DpSgd = true, NoiseMultiplier = 1.1, MaxGradNorm = 1.0, TargetEpsilon = 50 },
    Out = Path.Combine(work, name),
    StateDir = durable ? Path.Combine(work, "state") : null,
};

try
{
    // 1. Stopped after round 2: the run stays unfinished in the state directory.
    using (var cts = new CancellationTokenSource())
    using (var first = Simulation.Create(Settings("resumed", durable: true), Console.WriteLine))
    {
        first.Plan.Observers.Add(new StopAfter(2, cts));
        var stopped = await first.RunAsync(cts.Token);
        Console.WriteLine($"first attempt: {stopped.History.Rounds.Count} rounds, {stopped.History.StopReason}");
    }

    // 2. The same settings again: resumes after round 2 and finishes.
    RunResult resumed;
    using (var second = Simulation.Create(Settings("resumed", durable: true), Console.WriteLine))
    {
        resumed = await second.RunAsync();
    }

    // 3. An uninterrupted run for comparison.
    using var reference = Simulation.Create(Settings("reference", durable: false));
    var whole = await reference.RunAsync();

    foreach (var round in resumed.History.Rounds)
    {
        Console.WriteLine($"round {round.Round}: accuracy {round.Evaluate["accuracy"]:0.000}, cumulative sample-level epsilon {(round.Train.TryGetValue("cumulative_sample_epsilon", out var eps) ? eps : double.NaN):0.00}");
    }

    bool same = File.ReadAllBytes(Path.Combine(work, "resumed", "model.safetensors")).AsSpan()
        .SequenceEqual(File.ReadAllBytes(Path.Combine(work, "reference", "model.safetensors")));
    bool sameEpsilon = resumed.History.Rounds.Select(r => r.Train["cumulative_sample_epsilon"]).SequenceEqual(whole.History.Rounds.Select(r => r.Train["cumulative_sample_epsilon"]));
    Console.WriteLine($"stopped: {resumed.History.StopReason}; resumed model identical to the uninterrupted run's: {same}; same epsilon every round: {sameEpsilon}");
    same &= sameEpsilon;
    return same && resumed.History.Rounds.Count == whole.History.Rounds.Count ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}

/// <summary>Stops the run once round <paramref name="round"/> is complete (and checkpointed: durability observes first).</summary>
internal sealed class StopAfter(int round, CancellationTokenSource cts) : IRunObserver
{
    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        if (record.Round == round)
        {
            cts.Cancel();
        }
    }
}
