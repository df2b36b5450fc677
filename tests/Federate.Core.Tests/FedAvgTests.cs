using Federate.Core;

namespace Federate.Core.Tests;

public class FedAvgTests
{
    private static readonly RoundContext Context = new() { RunId = "r", Round = 1, Seed = 0 };

    [Fact]
    public void Aggregate_TwoClients_IsExampleWeightedMean()
    {
        var global = Records.Vector(0, 0, 0);
        var agg = new FedAvg().CreateTrainAggregator(Context, global);
        Assert.Null(agg.Add(Records.Reply(Records.Vector(1, 2, 3), 1)));
        Assert.Null(agg.Add(Records.Reply(Records.Vector(4, 5, 6), 3)));
        var result = agg.Complete();
        // (1*1 + 3*4)/4 = 3.25, (2 + 15)/4 = 4.25, (3 + 18)/4 = 5.25
        Assert.Equal(new[] { 3.25f, 4.25f, 5.25f }, result.Parameters!["w"].AsSpan<float>().ToArray());
        // loss metric equals examples in Records.Reply: (1*1 + 3*3)/4 = 2.5
        Assert.Equal(2.5, result.Metrics["loss"]);
        Assert.Equal(4, result.Metrics[RecordNames.NumExamples]);
    }

    [Fact]
    public void Aggregate_Float64Tensors_AreAveraged()
    {
        var global = new ArrayRecord { { "s", Tensor.FromArray(new double[2], 2) } };
        var agg = new FedAvg().CreateTrainAggregator(Context, global);
        agg.Add(Records.Reply(new ArrayRecord { { "s", Tensor.FromArray(new[] { 0.1, 0.2 }, 2) } }, 2));
        agg.Add(Records.Reply(new ArrayRecord { { "s", Tensor.FromArray(new[] { 0.4, 0.8 }, 2) } }, 1));
        var s = agg.Complete().Parameters!["s"].AsSpan<double>().ToArray();
        Assert.Equal(0.2, s[0], 15);
        Assert.Equal(0.4, s[1], 15);
    }

    [Fact]
    public void Aggregate_SingleClient_ReturnsItsModel()
    {
        var agg = new FedAvg().CreateTrainAggregator(Context, Records.Vector(0, 0));
        agg.Add(Records.Reply(Records.Vector(0.3f, -7f), 17));
        Assert.Equal(new[] { 0.3f, -7f }, agg.Complete().Parameters!["w"].AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("shape")]
    [InlineData("nan")]
    [InlineData("inf")]
    [InlineData("examples")]
    [InlineData("missing")]
    public void Add_BadReply_IsRefusedAndStateUntouched(string kind)
    {
        var agg = new FedAvg().CreateTrainAggregator(Context, Records.Vector(0, 0));
        agg.Add(Records.Reply(Records.Vector(2, 2), 1));
        var bad = kind switch
        {
            "shape" => Records.Reply(Records.Vector(1, 2, 3), 1),
            "nan" => Records.Reply(Records.Vector(1, float.NaN), 1),
            "inf" => Records.Reply(Records.Vector(float.PositiveInfinity, 1), 1),
            "examples" => Records.Reply(Records.Vector(1, 1), 0),
            _ => new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train }, new RecordDict()),
        };
        var problem = agg.Add(bad);
        Assert.NotNull(problem);
        Assert.Equal(1, agg.Count);
        Assert.Equal(new[] { 2f, 2f }, agg.Complete().Parameters!["w"].AsSpan<float>().ToArray());
        Assert.Contains(kind switch { "shape" => "should be Float32[2]", "nan" or "inf" => "NaN or infinity", "examples" => "num_examples", _ => "'model'" }, problem);
    }

    [Fact]
    public void Complete_NoReplies_KeepsGlobal()
    {
        var agg = new FedAvg().CreateTrainAggregator(Context, Records.Vector(1));
        Assert.Null(agg.Complete().Parameters);
    }

    [Fact]
    public void Aggregate_LargeVector_MatchesScalarReference()
    {
        var rng = new Random(3);
        int n = 10_007;
        var global = Records.Vector(new float[n]);
        var agg = new FedAvg().CreateTrainAggregator(Context, global);
        var updates = new List<(float[] X, int W)>();
        for (int c = 0; c < 5; c++)
        {
            var x = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)(rng.NextDouble() * 2 - 1);
            }

            updates.Add((x, c + 1));
            agg.Add(Records.Reply(Records.Vector(x), c + 1));
        }

        var result = agg.Complete().Parameters!["w"].AsSpan<float>().ToArray();
        for (int i = 0; i < n; i++)
        {
            double expected = updates.Sum(u => (double)u.X[i] * u.W) / 15.0;
            Assert.True(Math.Abs(result[i] - expected) < 1e-6, $"element {i}: {result[i]} vs {expected}");
        }
    }

    [Fact]
    public void Sampling_FractionAndMinimum_AreDeterministic()
    {
        var nodes = Enumerable.Range(1, 100).Select(i => new NodeInfo(i, $"n{i}")).ToArray();
        var strategy = new FedAvg { Sampling = new SamplingOptions { FractionTrain = 0.1, MinTrainNodes = 2 } };
        var a = strategy.ConfigureTrain(Context, Records.Vector(0), new ConfigRecord(), nodes);
        var b = strategy.ConfigureTrain(Context, Records.Vector(0), new ConfigRecord(), nodes);
        Assert.Equal(10, a.Count);
        Assert.Equal(a.Select(m => m.Metadata.DestinationNodeId), b.Select(m => m.Metadata.DestinationNodeId));
        var other = strategy.ConfigureTrain(new RoundContext { RunId = "r", Round = 2, Seed = 0 }, Records.Vector(0), new ConfigRecord(), nodes);
        Assert.NotEqual(a.Select(m => m.Metadata.DestinationNodeId), other.Select(m => m.Metadata.DestinationNodeId));
        Assert.All(a, m => Assert.Equal(1, m.Content!.Configs[RecordNames.Config].GetLong(RecordNames.ServerRound, 0)));

        var few = new FedAvg { Sampling = new SamplingOptions { FractionTrain = 0.01, MinTrainNodes = 3 } };
        Assert.Equal(3, few.ConfigureTrain(Context, Records.Vector(0), new ConfigRecord(), nodes).Count);
    }

    [Fact]
    public void AggregateEvaluate_WeightsByExamples()
    {
        static Message R(double acc, double n)
        {
            var c = new RecordDict();
            c.Metrics[RecordNames.Metrics] = new MetricRecord { ["accuracy"] = acc, [RecordNames.NumExamples] = n };
            return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Evaluate }, c);
        }

        var m = new FedAvg().AggregateEvaluate(Context, [R(1.0, 30), R(0.5, 10)]);
        Assert.Equal(0.875, m["accuracy"]);
        Assert.Equal(40, m[RecordNames.NumExamples]);
    }

    [Fact]
    public void StrategyCatalog_UnknownName_ListsChoices()
    {
        var ex = Assert.Throws<ArgumentException>(() => StrategyCatalog.Create("fedfoo", new SamplingOptions()));
        Assert.Equal("Unknown strategy 'fedfoo'; use one of: fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, median, trimmed-mean, krum, multi-krum, bulyan, qfedavg.", ex.Message);
    }
}

public class AggregationKernelsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(4099)]
    public void AllFinite_DetectsNaNAndInfinityAtEveryPosition(int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (i % 7) - 3 + float.MaxValue * (i % 2);
        }

        Assert.True(AggregationKernels.AllFinite(x));
        for (int i = 0; i < length; i += Math.Max(1, length / 13))
        {
            foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                var saved = x[i];
                x[i] = bad;
                Assert.False(AggregationKernels.AllFinite(x));
                x[i] = saved;
            }
        }

        if (length > 0)
        {
            x[^1] = float.NaN;
            Assert.False(AggregationKernels.AllFinite(x));
        }
    }
}

public class PooledMetricsTests
{
    private static MetricRecord Client(double n, double f1, params (int Class, double Tp, double Fp, double Fn)[] counts)
    {
        var m = new MetricRecord { ["accuracy"] = 0.5, ["f1"] = f1, ["dice"] = f1, [RecordNames.NumExamples] = n };
        foreach (var (c, tp, fp, fn) in counts)
        {
            m[$"confusion_tp_{c}"] = tp;
            m[$"confusion_fp_{c}"] = fp;
            m[$"confusion_fn_{c}"] = fn;
        }

        return m;
    }

    [Fact]
    public void Result_BinaryConfusionCounts_PoolF1OfClassOne()
    {
        var folder = new WeightedMetricFolder();
        // Client A: class 1 tp 8, fp 2, fn 0; client B: class 1 tp 1, fp 0, fn 3.
        folder.Add(Client(10, 0.9, (0, 0, 0, 2), (1, 8, 2, 0)));
        folder.Add(Client(10, 0.4, (0, 6, 3, 0), (1, 1, 0, 3)));
        var r = folder.Result();
        // pooled: tp 9, fp 2, fn 3 -> precision 9/11, recall 9/12, f1 = 2*9/(2*9+2+3) = 18/23.
        Assert.Equal(9.0 / 11, r["precision"], 12);
        Assert.Equal(0.75, r["recall"], 12);
        Assert.Equal(18.0 / 23, r["f1"], 12);
        Assert.Equal(18.0 / 23, r["dice"], 12);
        Assert.False(r.ContainsKey("confusion_tp_1"));
        Assert.Equal(0.5, r["accuracy"]);
    }

    [Fact]
    public void Result_MulticlassCounts_MacroOverPresentClasses()
    {
        var folder = new WeightedMetricFolder();
        folder.Add(Client(4, 0, (0, 2, 0, 0), (1, 1, 1, 0), (2, 0, 0, 0)));
        folder.Add(Client(4, 0, (0, 0, 0, 1), (1, 2, 0, 0), (2, 0, 0, 0)));
        var r = folder.Result();
        // class 0: tp 2 fp 0 fn 1 -> p 1, r 2/3, f 0.8; class 1: tp 3 fp 1 fn 0 -> p 0.75, r 1, f 6/7; class 2 absent.
        Assert.Equal((1 + 0.75) / 2, r["precision"], 12);
        Assert.Equal(((2.0 / 3) + 1) / 2, r["recall"], 12);
        Assert.Equal((0.8 + (6.0 / 7)) / 2, r["f1"], 12);
    }
}

public class FedAvgIntegerTensorTests
{
    private static readonly RoundContext Context = new() { RunId = "r", Round = 1, Seed = 0 };

    [Fact]
    public void Aggregate_Int64Tensor_IsRoundedWeightedMean()
    {
        var global = new ArrayRecord { { "n", Tensor.FromArray(new long[] { 0, 0, 0 }, 3) } };
        var agg = new FedAvg().CreateTrainAggregator(Context, global);

        Assert.Null(agg.Add(Records.Reply(new ArrayRecord { { "n", Tensor.FromArray(new long[] { 10, 1, -3 }, 3) } }, 1)));
        Assert.Null(agg.Add(Records.Reply(new ArrayRecord { { "n", Tensor.FromArray(new long[] { 20, 2, -4 }, 3) } }, 3)));
        var n = agg.Complete().Parameters!["n"];

        // (10 + 60)/4 = 17.5 -> 18 (ties to even), (1 + 6)/4 = 1.75 -> 2, (-3 - 12)/4 = -3.75 -> -4
        Assert.Equal(DType.Int64, n.DType);
        Assert.Equal(new long[] { 18, 2, -4 }, n.AsSpan<long>().ToArray());
    }

    [Fact]
    public void Aggregate_ZeroDimensionalInt64BesideFloats_KeepsDTypes()
    {
        var global = new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0 }, 1) }, { "batches", Tensor.FromArray(new long[] { 0 }) } };
        var agg = new FedAvg().CreateTrainAggregator(Context, global);

        agg.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 1 }, 1) }, { "batches", Tensor.FromArray(new long[] { 5 }) } }, 1));
        agg.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 3 }, 1) }, { "batches", Tensor.FromArray(new long[] { 6 }) } }, 1));
        var result = agg.Complete().Parameters!;

        Assert.Equal(new float[] { 2 }, result["w"].AsSpan<float>().ToArray());
        Assert.Equal(new long[] { 6 }, result["batches"].AsSpan<long>().ToArray());
    }

    [Fact]
    public void StreamingFold_UInt8Tensor_EqualsWholeFold()
    {
        var global = new ArrayRecord { { "q", Tensor.FromArray(new byte[] { 0, 0 }, 2) } };
        var agg = (IStreamingTrainAggregator)new FedAvg().CreateTrainAggregator(Context, global);
        var metrics = new MetricRecord { [RecordNames.NumExamples] = 1 };

        var fold = agg.BeginUpdate(1, metrics);
        fold.FoldChunk(0, 0, new byte[] { 255, 1 });
        fold.Commit();
        agg.Add(Records.Reply(new ArrayRecord { { "q", Tensor.FromArray(new byte[] { 254, 2 }, 2) } }, 1));
        var q = agg.Complete().Parameters!["q"];

        // (255 + 254)/2 = 254.5 -> 254 (ties to even), (1 + 2)/2 = 1.5 -> 2
        Assert.Equal(new byte[] { 254, 2 }, q.AsSpan<byte>().ToArray());
    }
}
