// A federated run in a user's own app, with Federate from NuGet: two rounds of FedAvg over 5 virtual clients of the
// embedded digits dataset, then the same seed again to show the run is reproducible. Exits 1 if either fails.
using Federate.Core;
using Federate.Simulation;

var work = Path.Combine(Path.GetTempPath(), "federate-consumer-" + Guid.NewGuid().ToString("N")[..8]);
SimulationSettings Settings(string name) => new()
{
    Dataset = "digits",
    Model = "logistic",
    Clients = 5,
    Rounds = 2,
    LocalEpochs = 1,
    Seed = 3,
    Out = Path.Combine(work, name),
};

try
{
    using var first = Simulation.Create(Settings("a"));
    var result = await first.RunAsync();
    foreach (var round in result.History.Rounds)
    {
        Console.WriteLine($"round {round.Round}: accuracy {round.Evaluate["accuracy"]:0.000}");
    }

    using var second = Simulation.Create(Settings("b"));
    await second.RunAsync();
    bool same = File.ReadAllBytes(Path.Combine(work, "a", "model.safetensors"))
        .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(work, "b", "model.safetensors")));
    Console.WriteLine($"Federate {typeof(FedAvg).Assembly.GetName().Version}: {result.History.Rounds.Count} rounds, same model for the same seed: {same}");
    return result.History.Rounds.Count == 2 && same ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}
