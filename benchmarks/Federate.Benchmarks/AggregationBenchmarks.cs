using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Federate.Core;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Benchmarks;

/// <summary>
/// FedAvg aggregation of 100 updates of 10M float32 parameters against the memory-speed limit measured in the same
/// run: a plain <c>y += x</c> pass over the same memory (the baseline; the Ratio column is baseline time / time,
/// so 1.0 means FedAvg folds at memory speed).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 7)]
public class AggregationBenchmarks
{
    private const int Updates = 100;
    private const int Parameters = 10_000_000;
    private float[][] _updates = [];
    private float[] _sum = [];
    private Message[] _replies = [];
    private ArrayRecord _global = new();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _updates = new float[Updates][];
        _replies = new Message[Updates];
        for (int u = 0; u < Updates; u++)
        {
            var x = new float[Parameters];
            for (int i = 0; i < x.Length; i += 97)
            {
                x[i] = (float)rng.NextDouble();
            }

            _updates[u] = x;
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(x, Parameters) } };
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 10 + u };
            _replies[u] = new Message(new MessageMetadata { RunId = "bench", Round = 1, MessageType = MessageType.Train, SourceNodeId = u + 1 }, content);
        }

        _sum = new float[Parameters];
        _global = new ArrayRecord { { "w", Tensor.FromArray(new float[Parameters], Parameters) } };
    }

    /// <summary>The limit: y += x over the same 100 x 10M floats.</summary>
    [Benchmark(Baseline = true)]
    public float PlainAdd()
    {
        var y = _sum.AsSpan();
        foreach (var x in _updates)
        {
            TensorPrimitives.Add(y, x, y);
        }

        return y[0];
    }

    /// <summary>The FedAvg kernel: sum += n_i * x_i for each update, then one scale by 1 / sum n_i.</summary>
    [Benchmark]
    public float FedAvgKernel()
    {
        var y = _sum.AsSpan();
        double total = 0;
        for (int u = 0; u < _updates.Length; u++)
        {
            AggregationKernels.FoldWeighted(y, _updates[u], 10 + u);
            total += 10 + u;
        }

        AggregationKernels.Scale(y, (float)(1 / total));
        return y[0];
    }

    /// <summary>The whole FedAvg aggregator: validation (layout, NaN/Inf check) plus the fold, for each reply.</summary>
    [Benchmark]
    public float FedAvgAggregatorWithValidation()
    {
        var aggregator = new WeightedMeanAggregator(_global);
        foreach (var reply in _replies)
        {
            aggregator.Add(reply);
        }

        return aggregator.Complete().Parameters!["w"].AsSpan<float>()[0];
    }
}
