using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Federate.Core;
using Federate.Core.Aggregation;
using Federate.Core.Formats;
using Federate.Core.Privacy;
using Federate.Core.Strategies;

namespace Federate.Core.Tests;

/// <summary>Decorators pass streaming on, and a streamed fold equals the whole-update fold bit for bit.</summary>
public sealed class StreamingDecoratorTests
{
    private static readonly RoundContext Context = new() { RunId = "r", Round = 1, Seed = 7 };

    public static TheoryData<string> Strategies() =>
    [
        "fedavg", "fedadam", "fedyogi", "fedadagrad", "fedavgm", "privacy(fedavg)", "privacy(fedadam)",
        "central-fixed(fedavg)", "central-adaptive(fedadam)", "privacy(central-fixed(fedavgm))", "user(fedadam)",
    ];

    private static Strategy Create(string name) => name switch
    {
        "fedavg" => new FedAvg(),
        "fedadam" => new FedAdam { ServerLearningRate = 0.1 },
        "fedyogi" => new FedYogi { ServerLearningRate = 0.1 },
        "fedadagrad" => new FedAdagrad { ServerLearningRate = 0.1 },
        "fedavgm" => new FedAvgM { ServerLearningRate = 1.0 },
        "privacy(fedavg)" => new PrivacyReportingStrategy(new FedAvg()),
        "privacy(fedadam)" => new PrivacyReportingStrategy(new FedAdam { ServerLearningRate = 0.1 }),
        "central-fixed(fedavg)" => new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 0.5, ClipNorm = 3 }),
        "central-adaptive(fedadam)" => new CentralDpStrategy(new FedAdam { ServerLearningRate = 0.1 }, new CentralDpOptions { Clipping = CentralClipping.Adaptive, NoiseMultiplier = 0.5, ClipNorm = 3, ClippedCountStddev = 1 }),
        "privacy(central-fixed(fedavgm))" => new PrivacyReportingStrategy(new CentralDpStrategy(new FedAvgM { ServerLearningRate = 1.0 }, new CentralDpOptions { NoiseMultiplier = 0.5, ClipNorm = 3 })),
        "user(fedadam)" => new UserDecoratedStrategy(new FedAdam { ServerLearningRate = 0.1 }),
        _ => throw new ArgumentException(name),
    };

    private static ArrayRecord Global() => new()
    {
        { "w", Tensor.FromArray(Enumerable.Range(0, 37).Select(i => (float)Math.Sin(i)).ToArray(), 37) },
        { "b", Tensor.FromArray(Enumerable.Range(0, 5).Select(i => i * 0.25).ToArray(), 5) },
    };

    private static ArrayRecord Update(ArrayRecord global, int client) => UpdateMath.Map(global, (i, t) =>
    {
        if (t.DType == DType.Float32)
        {
            return Tensor.FromArray(t.AsSpan<float>().ToArray().Select((v, j) => v + (float)Math.Cos((client * 31) + j) * (client + 1)).ToArray(), [.. t.Shape]);
        }

        return Tensor.FromArray(t.AsSpan<double>().ToArray().Select((v, j) => v - (Math.Cos((client * 17) + j) * 0.5)).ToArray(), [.. t.Shape]);
    });

    private static MetricRecord Metrics(int client) => new() { [RecordNames.NumExamples] = 10 + client, ["loss"] = client, [PrivacyNames.Epsilon] = 0.5 + client };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void CreateTrainAggregator_Decorator_CanStream(string name)
    {
        var aggregator = Create(name).CreateTrainAggregator(Context, Global());

        Assert.True(aggregator is IStreamingTrainAggregator { CanStream: true }, $"{name}: {aggregator.GetType().Name} does not stream");
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void StreamedFold_Decorator_BitIdenticalToWholeFold(string name)
    {
        var (whole, wholeMetrics) = RunRounds(Create(name), streamed: false);
        var (streamed, streamedMetrics) = RunRounds(Create(name), streamed: true);

        AssertBitIdentical(whole, streamed);
        Assert.Equal(wholeMetrics.OrderBy(kv => kv.Key), streamedMetrics.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void StreamedFold_StateOnDisk_BitIdenticalToInMemory()
    {
        var (memory, _) = RunRounds(Create("privacy(central-fixed(fedavgm))"), streamed: true);
        var (adamMemory, _) = RunRounds(Create("central-adaptive(fedadam)"), streamed: false);
        var floats = ScratchTensors<float>.DiskThresholdBytes;
        var doubles = ScratchTensors<double>.DiskThresholdBytes;
        var bytes = ScratchTensors<byte>.DiskThresholdBytes;
        try
        {
            ScratchTensors<float>.DiskThresholdBytes = 0;
            ScratchTensors<double>.DiskThresholdBytes = 0;
            ScratchTensors<byte>.DiskThresholdBytes = 0;
            var (disk, _) = RunRounds(Create("privacy(central-fixed(fedavgm))"), streamed: true);
            var (adamDisk, _) = RunRounds(Create("central-adaptive(fedadam)"), streamed: true);

            AssertBitIdentical(memory, disk);
            AssertBitIdentical(adamMemory, adamDisk);
        }
        finally
        {
            ScratchTensors<float>.DiskThresholdBytes = floats;
            ScratchTensors<double>.DiskThresholdBytes = doubles;
            ScratchTensors<byte>.DiskThresholdBytes = bytes;
        }
    }

    [Theory]
    [InlineData("fedadam")]
    [InlineData("privacy(central-fixed(fedavgm))")]
    public async Task RunDriver_StreamingGrid_GridGivenStreamingAggregatorAndSameModel(string name)
    {
        var apps = new Dictionary<long, IClientApp>();
        for (int c = 1; c <= 3; c++)
        {
            int client = c;
            apps[c] = new FixedClient((p, round) => Update(p, (client * 10) + round), 10 + client, _ => 0.5).ToClientApp();
        }

        var options = new RunOptions { RunId = "r", Seed = 3, Rounds = 3 };
        var direct = await new RunDriver(new DirectGrid(apps), Create(name), options).RunAsync(Global());
        var grid = new ChunkingGrid(apps);
        var streamed = await new RunDriver(grid, Create(name), options).RunAsync(Global());

        Assert.Equal(9, grid.StreamedUpdates);
        AssertBitIdentical(direct.Parameters, streamed.Parameters);
    }

    public static TheoryData<string> Robust() => ["median", "trimmed-mean", "krum", "multi-krum", "bulyan", "qfedavg"];

    private static Strategy CreateRobust(string name) => name switch
    {
        "median" => new FedMedian(),
        "trimmed-mean" => new FedTrimmedAvg { TrimFraction = 0.34 },
        "krum" => new Krum { Byzantine = 1 },
        "multi-krum" => new Krum { Byzantine = 1, Keep = 2, Multi = true },
        "bulyan" => new Bulyan { Byzantine = 0 },
        "qfedavg" => new QFedAvg(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Robust))]
    public void BufferedAggregator_OnDiskAndStreamed_SameAsInMemoryReference(string name)
    {
        // Reference: the algorithm given whole in-memory updates (the previous behaviour).
        var reference = CreateReference(name);
        var (memory, _) = RunRounds(CreateRobust(name), streamed: false);
        var bytes = ScratchTensors<byte>.DiskThresholdBytes;
        try
        {
            ScratchTensors<byte>.DiskThresholdBytes = 0;
            var (disk, _) = RunRounds(CreateRobust(name), streamed: true);
            AssertBitIdentical(memory, disk);
        }
        finally
        {
            ScratchTensors<byte>.DiskThresholdBytes = bytes;
        }

        var (expected, _) = RunRounds(reference, streamed: false);
        AssertBitIdentical(expected, memory);
    }

    // The same algorithms over whole in-memory updates, through BufferedAggregator's ClientUpdate overload.
    private static Strategy CreateReference(string name) => new InMemoryRobust(name);

    private sealed class InMemoryRobust(string name) : Strategy
    {
        public override string Name => name;

        public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => name switch
        {
            "median" => new BufferedAggregator(global, (IReadOnlyList<ClientUpdate> u) => CoordinateWise.ReduceModels(global, [.. u.Select(x => x.Parameters)], Selection.Median, Selection.Median)),
            "trimmed-mean" => new BufferedAggregator(global, (IReadOnlyList<ClientUpdate> u) =>
            {
                int trim = Math.Min((int)Math.Floor(0.34 * u.Count), (u.Count - 1) / 2);
                return CoordinateWise.ReduceModels(global, [.. u.Select(x => x.Parameters)], v => Selection.TrimmedMean(v, trim), v => Selection.TrimmedMean(v, trim));
            }),
            "krum" or "multi-krum" => new BufferedAggregator(global, (IReadOnlyList<ClientUpdate> u) =>
            {
                var d = Krum.PairwiseSquaredDistances(u);
                var chosen = Krum.Scores(d, [.. Enumerable.Range(0, u.Count)], 1).OrderBy(s => s.Score).ThenBy(s => s.Index).Take(name == "krum" ? 1 : 2).Select(s => s.Index);
                var mean = new WeightedMeanAggregator(global);
                foreach (var k in chosen)
                {
                    var content = new RecordDict();
                    content.Arrays[RecordNames.Model] = u[k].Parameters;
                    content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = u[k].NumExamples };
                    mean.Add(new Message(new MessageMetadata { RunId = "", Round = 0, MessageType = MessageType.Train }, content));
                }

                return mean.Complete().Parameters;
            }),
            "bulyan" => new BufferedAggregator(global, (IReadOnlyList<ClientUpdate> u) =>
            {
                // f = 0: Bulyan keeps every update and averages the values closest to the median.
                int n = u.Count;
                return CoordinateWise.ReduceModels(global, [.. u.Select(x => x.Parameters)], v => Bulyan.ClosestToMedianMean(v, n), v => Bulyan.ClosestToMedianMean(v, n));
            }),
            "qfedavg" => new BufferedAggregator(global, (IReadOnlyList<ClientUpdate> u) =>
            {
                double l = 1.0 / 0.05;
                double q = 0.2;
                var weights = new double[u.Count];
                double hSum = 0;
                for (int k = 0; k < u.Count; k++)
                {
                    double loss = u[k].Metrics["loss"] + 1e-10;
                    double norm2 = UpdateMath.SquaredDistance(global, u[k].Parameters) * l * l;
                    hSum += (q * Math.Pow(loss, q - 1) * norm2) + (l * Math.Pow(loss, q));
                    weights[k] = Math.Pow(loss, q) * l;
                }

                return UpdateMath.Map(global, (i, t) =>
                {
                    var result = t.Clone();
                    for (int k = 0; k < u.Count; k++)
                    {
                        var x = UpdateMath.At(u[k].Parameters, i);
                        double c = weights[k] / hSum;
                        if (t.DType == DType.Float32)
                        {
                            var diff = new float[t.Length];
                            System.Numerics.Tensors.TensorPrimitives.Subtract(x.AsSpan<float>(), t.AsSpan<float>(), diff);
                            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(diff, (float)c, result.AsSpan<float>(), result.AsSpan<float>());
                        }
                        else
                        {
                            var diff = new double[t.Length];
                            System.Numerics.Tensors.TensorPrimitives.Subtract(x.AsSpan<double>(), t.AsSpan<double>(), diff);
                            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(diff, c, result.AsSpan<double>(), result.AsSpan<double>());
                        }
                    }

                    return result;
                });
            }),
            _ => throw new ArgumentException(name),
        };
    }

    [Fact]
    public void DelegatingTrainAggregator_InnerCannotStream_DoesNotStream()
    {
        var aggregator = new UserDecoratedStrategy.Counting(new WholeOnly());

        Assert.False(aggregator.CanStream);
        Assert.Throws<NotSupportedException>(() => aggregator.BeginUpdate(1, Metrics(1)));
    }

    [Fact]
    public void FedAdamState_CheckpointAsTensors_NextRoundIdentical()
    {
        var a = new FedAdam { ServerLearningRate = 0.1 };
        var global = Global();
        var agg = a.CreateTrainAggregator(Context, global);
        agg.Add(Records.Reply(Update(global, 1), 10));
        var after1 = agg.Complete().Parameters!;
        var path = Path.Combine(Path.GetTempPath(), $"federate-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            var tensors = StrategyState.ExportTensors(new PrivacyReportingStrategy(a));
            Assert.Equal(["inner.m.0", "inner.m.1", "inner.v.0", "inner.v.1"], tensors.Select(t => t.Name));
            StateTensorFile.Write(path, tensors);

            // Any safetensors reader opens the state file.
            var record = Safetensors.ReadFile(path, out _);
            Assert.Equal(DType.Float32, record["inner.m.0"].DType);
            Assert.Equal(37, record["inner.m.0"].Length);

            var b = new FedAdam { ServerLearningRate = 0.1 };
            StrategyState.ImportTensors(new PrivacyReportingStrategy(b), path);
            var context2 = new RoundContext { RunId = "r", Round = 2, Seed = 7 };
            var aggA = a.CreateTrainAggregator(context2, after1);
            var aggB = b.CreateTrainAggregator(context2, after1);
            aggA.Add(Records.Reply(Update(after1, 2), 10));
            aggB.Add(Records.Reply(Update(after1, 2), 10));
            AssertBitIdentical(aggA.Complete().Parameters!, aggB.Complete().Parameters!);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ImportTensors_WrongLength_FormatException()
    {
        var path = Path.Combine(Path.GetTempPath(), $"federate-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            StateTensorFile.Write(path, [
                new StateTensor("m.0", DType.Float32, [3], s => s.Write(new byte[12])),
                new StateTensor("v.0", DType.Float32, [2], s => s.Write(new byte[8])),
            ]);

            Assert.Throws<FormatException>(() => StrategyState.ImportTensors(new FedAdam(), path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (ArrayRecord Model, MetricRecord Metrics) RunRounds(Strategy strategy, bool streamed)
    {
        var global = Global();
        MetricRecord metrics = new();
        for (int round = 1; round <= 3; round++)
        {
            var context = new RoundContext { RunId = "r", Round = round, Seed = 7 };
            var nodes = new[] { new NodeInfo(1, "a"), new NodeInfo(2, "b"), new NodeInfo(3, "c") };
            _ = strategy.ConfigureTrain(context, global, new ConfigRecord(), nodes);
            var aggregator = strategy.CreateTrainAggregator(context, global);
            for (int c = 1; c <= 3; c++)
            {
                var update = Update(global, (round * 10) + c);
                if (streamed)
                {
                    FoldInChunks(((IStreamingTrainAggregator)aggregator).BeginUpdate(c, Metrics(c)), update, 4);
                }
                else
                {
                    var content = new RecordDict();
                    content.Arrays[RecordNames.Model] = update;
                    content.Metrics[RecordNames.Metrics] = Metrics(c);
                    Assert.Null(aggregator.Add(new Message(new MessageMetadata { RunId = "r", Round = round, MessageType = MessageType.Train, SourceNodeId = c }, content)));
                }
            }

            var result = aggregator.Complete();
            global = result.Parameters ?? global;
            metrics = result.Metrics;
        }

        return (global, metrics);
    }

    internal static void FoldInChunks(IUpdateFold fold, ArrayRecord update, int chunkElements)
    {
        int t = 0;
        foreach (var (_, tensor) in update)
        {
            var bytes = tensor.AsBytes();
            int elem = tensor.DType.SizeOf();
            for (int offset = 0; offset < tensor.Length; offset += chunkElements)
            {
                int n = (int)Math.Min(chunkElements, tensor.Length - offset);
                fold.FoldChunk(t, offset, bytes.Slice(offset * elem, n * elem));
            }

            t++;
        }

        fold.Commit();
    }

    private static void AssertBitIdentical(ArrayRecord expected, ArrayRecord actual)
    {
        Assert.Equal(expected.Names, actual.Names);
        foreach (var (name, tensor) in expected)
        {
            Assert.True(tensor.AsBytes().SequenceEqual(actual[name].AsBytes()), $"tensor '{name}' differs");
        }
    }

    private sealed class WholeOnly : ITrainAggregator
    {
        public int Count => 0;

        public string? Add(Message reply) => null;

        public AggregateResult Complete() => new(null, new MetricRecord());
    }

    /// <summary>A user's decorator: counts examples and passes streaming on through <see cref="DelegatingTrainAggregator"/>.</summary>
    private sealed class UserDecoratedStrategy(Strategy inner) : Strategy
    {
        public override string Name => "user";

        public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => new Counting(inner.CreateTrainAggregator(context, global));

        internal sealed class Counting(ITrainAggregator inner) : DelegatingTrainAggregator(inner)
        {
            public double Examples { get; private set; }

            protected override void OnAccepted(long nodeId, MetricRecord metrics) => Examples += metrics[RecordNames.NumExamples];
        }
    }

    /// <summary>A grid that folds each update chunk by chunk when the aggregator streams (as the gRPC fleet does).</summary>
    private sealed class ChunkingGrid(IReadOnlyDictionary<long, IClientApp> apps) : IGrid
    {
        public int StreamedUpdates { get; private set; }

        public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<NodeInfo>>([.. apps.Keys.Order().Select(id => new NodeInfo(id, $"n{id}"))]);

        public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var m in instructions)
            {
                yield return await apps[m.Metadata.DestinationNodeId].HandleAsync(m, cancellationToken);
            }
        }

        public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, ITrainAggregator aggregator, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var streaming = aggregator as IStreamingTrainAggregator;
            Assert.True(streaming is { CanStream: true }, $"{aggregator.GetType().Name} does not stream");
            foreach (var m in instructions)
            {
                var reply = await apps[m.Metadata.DestinationNodeId].HandleAsync(m, cancellationToken);
                var metrics = reply.Content!.Metrics[RecordNames.Metrics];
                FoldInChunks(streaming!.BeginUpdate(reply.Metadata.SourceNodeId, metrics), reply.Content.Arrays[RecordNames.Model], 5);
                StreamedUpdates++;
                var content = new RecordDict();
                content.Metrics[RecordNames.Metrics] = metrics;
                yield return new Message(reply.Metadata, content);
            }
        }
    }
}
