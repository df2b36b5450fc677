// A strategy decorator of your own that keeps server memory O(model): it wraps any strategy, moves the global model
// only part of the way towards the inner strategy's result (a server learning rate), and keeps a per-client ledger
// of examples contributed. Its aggregator derives from DelegatingTrainAggregator, so a server that folds updates
// chunk by chunk as they arrive (FleetGrid) still does so through it: no client's whole update is ever held.
// Run: dotnet run --project samples/StreamingStrategyDecorator
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Core.Strategies;
using Federate.Simulation;

var settings = new SimulationSettings { Dataset = "digits", Model = "mlp", Clients = 6, Rounds = 4, LocalEpochs = 1, Seed = 7, Out = Path.Combine(Path.GetTempPath(), "federate-sample-decorator") };

// 1. The decorator with step 1 is FedAvg exactly (same model bytes), and its aggregator still streams.
var plain = await RunAsync(settings, s => s);
var full = await RunAsync(settings, s => new ServerStep(s, 1.0));
bool same = Flatten(plain.Parameters).SequenceEqual(Flatten(full.Parameters));

// 2. A half step, with the ledger printed.
ServerStep? half = null;
var result = await RunAsync(settings, s => half = new ServerStep(s, 0.5));
foreach (var round in result.History.Rounds)
{
    Console.WriteLine($"round {round.Round}: accuracy {round.Evaluate["accuracy"]:0.000}");
}

Console.WriteLine($"examples contributed per client: {string.Join(", ", half!.Contributed.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"))}");
Console.WriteLine($"step 1 equals FedAvg: {same}; the decorator's aggregator can stream: {half.Streams}");
return same && half.Streams ? 0 : 1;

static async Task<RunResult> RunAsync(SimulationSettings settings, Func<Strategy, Strategy> decorate)
{
    using var simulation = Simulation.Create(settings);
    simulation.Plan.Strategy = decorate(simulation.Plan.Strategy);
    return await simulation.RunAsync();
}

static float[] Flatten(ArrayRecord record) => [.. record.SelectMany(kv => kv.Value.AsSpan<float>().ToArray())];

/// <summary>Moves the global model by <paramref name="step"/> towards the inner strategy's new model.</summary>
internal sealed class ServerStep(Strategy inner, double step) : DelegatingStrategy(inner)
{
    public Dictionary<long, double> Contributed { get; } = [];

    public bool Streams { get; private set; }

    public double Step { get; } = step;

    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global)
    {
        var aggregator = new Aggregator(this, Inner.CreateTrainAggregator(context, global), global);
        Streams = aggregator.CanStream;
        return aggregator;
    }

    private sealed class Aggregator(ServerStep owner, ITrainAggregator inner, ArrayRecord global) : DelegatingTrainAggregator(inner)
    {
        // Called once per accepted update, whether it was folded whole or chunk by chunk: only its metrics are kept.
        protected override void OnAccepted(long nodeId, MetricRecord metrics) =>
            owner.Contributed[nodeId] = owner.Contributed.GetValueOrDefault(nodeId) + (metrics.TryGetValue(RecordNames.NumExamples, out var n) ? n : 0);

        public override AggregateResult Complete()
        {
            var result = Inner.Complete();
            if (result.Parameters is { } next && owner.Step != 1.0)
            {
                // In place on the inner result: global + step * (next - global), one model-sized pass, no copy.
                foreach (var (name, tensor) in next)
                {
                    var x = tensor.AsSpan<float>();
                    var g = global[name].AsSpan<float>();
                    for (int i = 0; i < x.Length; i++)
                    {
                        x[i] = (float)(g[i] + (owner.Step * (x[i] - g[i])));
                    }
                }
            }

            return result;
        }
    }
}
