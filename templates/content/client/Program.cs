// A Federate client: it holds one partition of the embedded 'digits' dataset (your data stays here), trains the
// server's model on it each round and sends back only the updated parameters. It exits when the server's run ends.
//   dotnet run -- --server 127.0.0.1:9092 --partition 0 --partitions 2
// Replace the dataset with your own: DatasetCatalog.Load("path/to/data.csv") reads a CSV with a label column.
using Federate.Client;

string server = Option("--server", "127.0.0.1:9092");
int partition = int.Parse(Option("--partition", "0"), System.Globalization.CultureInfo.InvariantCulture);
int partitions = int.Parse(Option("--partitions", "2"), System.Globalization.CultureInfo.InvariantCulture);

var data = FederatedDataset.Create(DatasetCatalog.Load("digits"), partitions, "iid", seed: 0);
var (train, test) = data.GetPartition(partition);
var learner = new LearningClient(
    () => ModelFactory.Create("mlp", data.FeatureCount, data.ClassCount), // the same model as the server's
    train, test, new TrainOptions { Epochs = 1, BatchSize = 16, LearningRate = 0.1 }, seed: 0, partitionId: partition);

var options = new FleetClientOptions
{
    Server = server,
    Name = $"FederateClient1-{partition}",
    PartitionId = partition,
    Insecure = true, // development only: production clients authenticate with a startup kit (Identity)
};

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
Console.WriteLine($"client {partition}/{partitions}: {train.Count} training rows, joining {server}");
var exit = await new FleetClient(options, learner.ToClientApp()).RunAsync(stop.Token);
Console.WriteLine($"client {partition}: {exit}");
return exit == ClientExit.Finished ? 0 : 1;

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
