using Federate.Client;
using Federate.Core;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Learning;
using Federate.Server;
using Federate.Simulation;

namespace Federate.TorchSharp.Tests;

/// <summary>TorchSharp CNN clients on three IID partitions of the digits dataset, in simulation and over gRPC.</summary>
internal static class Federation
{
    public const int Clients = 3;
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static readonly Lazy<(TorchDataset Train, TorchDataset Test)[]> Partitions = new(() =>
    {
        var data = FederatedDataset.Create(DatasetCatalog.Load("digits"), Clients, "iid", seed: 0);
        return [.. Enumerable.Range(0, Clients).Select(p =>
        {
            var (train, test) = data.GetPartition(p);
            return (TorchDataset.FromDataset(train, 1, 8, 8), TorchDataset.FromDataset(test, 1, 8, 8));
        })];
    });

    /// <summary>A client whose defaults differ from the round config, so the test shows the config is what counts.</summary>
    public static TorchClient Client(int partition, int seed) =>
        new(() => TestModels.Cnn(), Partitions.Value[partition].Train, Partitions.Value[partition].Test, new TrainOptions { Epochs = 3, BatchSize = 64, LearningRate = 0.5 }, seed, partition);

    public static RunOptions Options(int rounds, int seed)
    {
        var options = new RunOptions { Rounds = rounds, Seed = seed, MinNodes = Clients, RoundTimeout = Limit };
        options.TrainConfig["local_epochs"] = 1L;
        options.TrainConfig["batch_size"] = 16L;
        options.TrainConfig["lr"] = 0.05;
        options.TrainConfig["momentum"] = 0.9;
        options.TrainConfig["weight_decay"] = 1e-4;
        return options;
    }

    public static ArrayRecord Initial(int seed)
    {
        using var client = Client(0, seed);
        return client.GetParameters(new ConfigRecord());
    }

    public static Task<RunResult> SimulateAsync(int rounds, int seed)
    {
        var grid = new InMemoryGrid(p => Client(p, seed).ToClientApp(), new SimulationOptions { Clients = Clients, Seed = seed, Parallelism = 2 });
        return new RunDriver(grid, new FedAvg(), Options(rounds, seed)).RunAsync(Initial(seed)).WaitAsync(Limit);
    }

    /// <summary>The same run with a real gRPC server on a free loopback port and one fleet client per partition.</summary>
    public static async Task<RunResult> DeployAsync(int rounds, int seed)
    {
        var serverOptions = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(10) };
        await using var server = await FleetServer.StartAsync(serverOptions).WaitAsync(Limit);
        var options = Options(rounds, seed);
        options.RunId = serverOptions.RunId;
        var run = new RunDriver(server.Grid, new FedAvg(), options, [server.Observer]).RunAsync(Initial(seed));
        using var stop = new CancellationTokenSource(Limit);
        var clients = Enumerable.Range(0, Clients)
            .Select(p => new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = p, Name = $"torch-{p}", RetryInterval = TimeSpan.FromMilliseconds(200) }, Client(p, seed).ToClientApp()))
            .ToArray();
        try
        {
            var exits = clients.Select(c => c.RunAsync(stop.Token)).ToArray();
            var result = await run.WaitAsync(Limit);
            await server.FinishAsync(result.History, stop.Token);
            Assert.All(await Task.WhenAll(exits).WaitAsync(Limit), exit => Assert.Equal(ClientExit.Finished, exit));
            return result;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    public static byte[] Bytes(ArrayRecord record)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, record);
        return stream.ToArray();
    }
}
