// A TorchSharp (libtorch) CNN as a Federate client, trained on Fashion-MNIST ('apt-get install dataset-fashion-mnist').
// The same TorchClient runs in a simulation and against a real server:
//
//   dotnet run --project samples/TorchSharpClient -c Release -- sim --clients 4 --rounds 3
//
//   federate server --insecure --model none --min-clients 2 --rounds 3 --local-epochs 1 --batch-size 64 --lr 0.01 --momentum 0.9
//   dotnet samples/TorchSharpClient/bin/Release/net10.0/TorchSharpClient.dll client --server 127.0.0.1:9092 --partition 0 --partitions 2
//   dotnet samples/TorchSharpClient/bin/Release/net10.0/TorchSharpClient.dll client --server 127.0.0.1:9092 --partition 1 --partitions 2
//
// '--model none' makes the server take its initial model from the first client (the module's state_dict). Options:
// --examples N (training images used, default 12000; 0 for all 60,000), --seed S, --threads T (libtorch threads,
// default 1: one thread gives the same model for a seed in simulation and deployment). The simulation exits non-zero
// unless the test accuracy rises from round 1 to the last round.
using Federate.Client;
using Federate.Core;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Learning;
using Federate.Simulation;
using Federate.TorchSharp;
using TorchSharp;

string mode = args.Length > 0 ? args[0] : "sim";
int seed = IntOption("--seed", 0);
int examples = IntOption("--examples", 12_000);
torch.set_num_threads(IntOption("--threads", 1));
var defaults = new TrainOptions { Epochs = 1, BatchSize = 64, LearningRate = 0.01, Momentum = 0.9 };

if (mode == "sim")
{
    int clients = IntOption("--clients", 4);
    var data = Load(clients);
    var partitions = Enumerable.Range(0, clients).Select(p => Partition(data, p)).ToArray();
    var grid = new InMemoryGrid(p => Client(partitions[p], p).ToClientApp(), new SimulationOptions { Clients = clients, Seed = seed });
    var options = new RunOptions { Rounds = IntOption("--rounds", 3), Seed = seed };
    options.TrainConfig["local_epochs"] = (long)defaults.Epochs;
    options.TrainConfig["batch_size"] = (long)defaults.BatchSize;
    options.TrainConfig["lr"] = defaults.LearningRate;
    options.TrainConfig["momentum"] = defaults.Momentum;
    using var first = Client(partitions[0], 0);
    var result = await new RunDriver(grid, new FedAvg(), options).RunAsync(first.GetParameters(new ConfigRecord()));
    foreach (var round in result.History.Rounds)
    {
        Console.WriteLine($"round {round.Round}: train loss {round.Train["loss"]:0.0000}, test loss {round.Evaluate["loss"]:0.0000}, accuracy {round.Evaluate["accuracy"]:0.0000}");
    }

    var rounds = result.History.Rounds;
    return rounds.Count > 1 && rounds[^1].Evaluate["accuracy"] > rounds[0].Evaluate["accuracy"] ? 0 : 1;
}

if (mode == "client")
{
    int partitionCount = IntOption("--partitions", 2);
    int partition = IntOption("--partition", 0);
    var data = Load(partitionCount);
    var local = Partition(data, partition);
    using var client = Client(local, partition);
    var options = new FleetClientOptions
    {
        Server = Option("--server", "127.0.0.1:9092"),
        Name = $"torchsharp-{partition}",
        PartitionId = partition,
        Insecure = true, // development only: production clients use a startup kit (Identity)
        RetryInterval = TimeSpan.FromSeconds(0.2),
    };
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    Console.WriteLine($"client {partition}/{partitionCount}: {local.Train.Count} training images, joining {options.Server}");
    var exit = await new FleetClient(options, client.ToClientApp()).RunAsync(stop.Token);
    Console.WriteLine($"client {partition}: {exit}");
    return exit == ClientExit.Finished ? 0 : 1;
}

Console.Error.WriteLine($"unknown mode '{mode}'; use 'sim' or 'client'");
return 2;

// Fashion-MNIST's training images (the first --examples of them) and official test images, dealt IID to the clients.
FederatedDataset Load(int partitions)
{
    var split = DatasetCatalog.Load("fashion-mnist");
    if (examples > 0 && examples < split.Train.Count)
    {
        int tests = Math.Min(split.Test?.Count ?? 0, Math.Max(examples / 6, 1));
        split = new DataSplit(split.Train.Subset([.. Enumerable.Range(0, examples)]), split.Test?.Subset([.. Enumerable.Range(0, tests)]));
    }

    return FederatedDataset.Create(split, partitions, "iid", seed);
}

(TorchDataset Train, TorchDataset Test) Partition(FederatedDataset data, int partition)
{
    var (train, test) = data.GetPartition(partition);
    return (TorchDataset.FromDataset(train, 1, 28, 28), TorchDataset.FromDataset(test, 1, 28, 28));
}

TorchClient Client((TorchDataset Train, TorchDataset Test) local, int partition) =>
    new(() => new FashionCnn(), local.Train, local.Test, defaults, seed, partition);

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

int IntOption(string name, int fallback) => int.Parse(Option(name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
