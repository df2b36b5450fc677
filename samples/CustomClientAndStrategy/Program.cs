// A self-contained example: a client written against the classic FederatedClient API (linear regression on its
// own synthetic data), a custom strategy (FedAvg with a server learning rate), and a simulation that runs them.
// Run: dotnet run --project samples/CustomClientAndStrategy
using Federate.Core;
using Federate.Simulation;
using Tensor = Federate.Core.Records.Tensor;

const int Clients = 8;
const int Seed = 42;
float[] trueWeights = [2f, -3f, 0.5f];

var grid = new InMemoryGrid(
    partition => new LinearRegressionClient(partition, trueWeights, Seed).ToClientApp(),
    new SimulationOptions { Clients = Clients, Seed = Seed });
var strategy = new FedAvgWithServerLearningRate(serverLearningRate: 0.8) { Sampling = new SamplingOptions { FractionTrain = 0.5, MinTrainNodes = 2 } };
var options = new RunOptions { Rounds = 15, Seed = Seed, Target = ("loss", 0.011) };
options.TrainConfig["lr"] = 0.1;

var initial = new ArrayRecord { { "w", Tensor.FromArray(new float[trueWeights.Length], trueWeights.Length) } };
var result = await new RunDriver(grid, strategy, options).RunAsync(initial);
foreach (var round in result.History.Rounds)
{
    Console.WriteLine($"round {round.Round,2}: evaluate loss {round.Evaluate["loss"]:0.0000} from {round.Results} clients");
}

Console.WriteLine($"stopped: {result.History.StopReason} ({result.History.StopDetail})");
Console.WriteLine($"learned w = [{string.Join(", ", result.Parameters["w"].AsSpan<float>().ToArray().Select(v => v.ToString("0.000")))}], true w = [{string.Join(", ", trueWeights)}]");

/// <summary>FedAvg, then move the global model only part of the way towards the average.</summary>
internal sealed class FedAvgWithServerLearningRate(double serverLearningRate) : FedAvg
{
    public override string Name => "fedavg-slr";

    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new Damped(new WeightedMeanAggregator(global), global, (float)serverLearningRate);

    private sealed class Damped(ITrainAggregator inner, ArrayRecord global, float rate) : ITrainAggregator
    {
        public int Count => inner.Count;

        public string? Add(Message reply) => inner.Add(reply);

        public AggregateResult Complete()
        {
            var result = inner.Complete();
            if (result.Parameters is null)
            {
                return result;
            }

            var w = global["w"].AsSpan<float>();
            var average = result.Parameters["w"].AsSpan<float>();
            for (int i = 0; i < w.Length; i++)
            {
                average[i] = w[i] + (rate * (average[i] - w[i]));
            }

            return result;
        }
    }
}

/// <summary>A client holding noisy samples of y = w·x; trains by full-batch gradient descent.</summary>
internal sealed class LinearRegressionClient : FederatedClient
{
    private readonly float[][] _x;
    private readonly float[] _y;

    public LinearRegressionClient(int partition, float[] trueWeights, int seed)
    {
        var rng = new Random(seed * 1000 + partition);
        int n = 50 + (10 * partition);
        _x = new float[n][];
        _y = new float[n];
        for (int i = 0; i < n; i++)
        {
            _x[i] = [.. trueWeights.Select(_ => (float)(rng.NextDouble() * 2 - 1))];
            _y[i] = _x[i].Zip(trueWeights, (a, b) => a * b).Sum() + (float)((rng.NextDouble() - 0.5) * 0.3);
        }
    }

    public override ArrayRecord GetParameters(ConfigRecord config) => new() { { "w", Tensor.FromArray(new float[_x[0].Length], _x[0].Length) } };

    public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        var w = parameters["w"].AsSpan<float>().ToArray();
        float lr = (float)config.GetDouble("lr", 0.1);
        for (int step = 0; step < 20; step++)
        {
            var gradient = new float[w.Length];
            for (int i = 0; i < _y.Length; i++)
            {
                float error = _x[i].Zip(w, (a, b) => a * b).Sum() - _y[i];
                for (int j = 0; j < w.Length; j++)
                {
                    gradient[j] += 2 * error * _x[i][j] / _y.Length;
                }
            }

            for (int j = 0; j < w.Length; j++)
            {
                w[j] -= lr * gradient[j];
            }
        }

        return new FitResult(new ArrayRecord { { "w", Tensor.FromArray(w, w.Length) } }, _y.Length, new MetricRecord { ["loss"] = Loss(w) });
    }

    public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
        new(Loss(parameters["w"].AsSpan<float>().ToArray()), _y.Length, new MetricRecord());

    private double Loss(float[] w) => _y.Select((y, i) => Math.Pow(_x[i].Zip(w, (a, b) => a * b).Sum() - y, 2)).Average();
}
