using BenchmarkDotNet.Attributes;
using Federate.Core;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Benchmarks;

/// <summary>
/// Aggregation time of every strategy for 100 client updates of 1M float32 parameters (validation included: layout,
/// NaN/Inf). The baseline is FedAvg, which folds at memory speed; the Ratio column shows what robustness costs.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class StrategyBenchmarks
{
    private const int Clients = 100;
    private const int Parameters = 1_000_000;
    private Message[] _replies = [];
    private ArrayRecord _global = new();

    [Params("fedavg", "fedadam", "median", "trimmed-mean", "krum", "multi-krum", "bulyan", "qfedavg")]
    public string Strategy { get; set; } = "fedavg";

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _global = new ArrayRecord { { "w", Tensor.FromArray(new float[Parameters], Parameters) } };
        _replies = new Message[Clients];
        for (int c = 0; c < Clients; c++)
        {
            var x = new float[Parameters];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }

            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(x, Parameters) } };
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 100 + c, ["loss"] = 1 + (c * 0.01) };
            _replies[c] = new Message(new MessageMetadata { RunId = "bench", Round = 1, MessageType = MessageType.Train, SourceNodeId = c + 1 }, content);
        }
    }

    [Benchmark]
    public float Aggregate()
    {
        var strategy = StrategyCatalog.Create(Strategy, new SamplingOptions(), new StrategyOptions { Byzantine = 20 });
        var aggregator = strategy.CreateTrainAggregator(new RoundContext { RunId = "bench", Round = 1, Seed = 0 }, _global);
        foreach (var reply in _replies)
        {
            aggregator.Add(reply);
        }

        return aggregator.Complete().Parameters!["w"].AsSpan<float>()[0];
    }
}
