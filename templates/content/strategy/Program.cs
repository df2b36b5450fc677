// Tries ServerLearningRateStrategy against plain FedAvg in a simulation: 10 virtual clients, each holding a
// non-IID share of the embedded 'digits' dataset, train a logistic regression; the same seed gives the same result.
//   dotnet run -- --rounds 5
using Federate.Simulation;
using FederateStrategy1;

int rounds = args.Length > 1 && args[0] == "--rounds" ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
var data = FederatedDataset.Create(DatasetCatalog.Load("digits"), partitions: 10, "dirichlet:0.5", seed: 0);
Model CreateModel() => ModelFactory.Create("logistic", data.FeatureCount, data.ClassCount);

foreach (var strategy in new Strategy[] { new FedAvg(), new ServerLearningRateStrategy(rate: 0.7) })
{
    var grid = new InMemoryGrid(
        partition =>
        {
            var (train, test) = data.GetPartition(partition);
            return new LearningClient(CreateModel, train, test, new TrainOptions { Epochs = 1 }, seed: 0, partitionId: partition).ToClientApp();
        },
        new SimulationOptions { Clients = 10, Seed = 0 });
    var initial = CreateModel();
    initial.Initialize(seed: 0);
    var result = await new RunDriver(grid, strategy, new RunOptions { Rounds = rounds, Seed = 0 }).RunAsync(initial.GetParameters());
    var last = result.History.Rounds[^1];
    Console.WriteLine($"{strategy.Name}: accuracy {last.Evaluate["accuracy"]:0.000} after {result.History.Rounds.Count} rounds");
}
