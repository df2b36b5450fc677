using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Federate.Core;
using Federate.Core.Compression;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Benchmarks;

/// <summary>
/// The cost of update compression per update of 1M float32 parameters, each against its reference measured in the same
/// run (the Ratio column): on the server, decoding and folding a compressed update chunk by chunk against folding the
/// float32 update (category "fold"); on the client, error feedback and encoding against the plain difference
/// local - global (category "encode").
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 9)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CompressionBenchmarks
{
    private const int Parameters = 1 << 20;
    private const int ChunkSize = 1 << 20;
    private static readonly RoundContext Context = new() { RunId = "bench", Round = 1, Seed = 1 };
    private ArrayRecord _global = new();
    private Message _instruction = null!;
    private Message _reply = null!;
    private readonly Dictionary<string, Message> _encoded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UpdateCompressor> _compressors = new(StringComparer.Ordinal);
    private float[] _difference = [];

    [Params("int8", "fp16", "topk:0.01")]
    public string Codec { get; set; } = "int8";

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var global = new float[Parameters];
        var local = new float[Parameters];
        for (int i = 0; i < Parameters; i++)
        {
            global[i] = (float)(rng.NextDouble() - 0.5);
            local[i] = global[i] + (float)((rng.NextDouble() - 0.5) * 0.01);
        }

        _global = new ArrayRecord { { "w", Tensor.FromArray(global, Parameters) } };
        var config = new ConfigRecord { [UpdateCompression.ConfigKey] = Codec };
        _instruction = new FedAvg().ConfigureTrain(Context, _global, config, [new NodeInfo(1, "n")])[0];
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(local, Parameters) } };
        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 10 };
        _reply = new Message(_instruction.Metadata with { SourceNodeId = 1, DestinationNodeId = 0 }, content);
        _encoded[Codec] = new UpdateCompressor().Compress(UpdateCodec.Parse(Codec)!, _instruction, _reply);
        _compressors[Codec] = new UpdateCompressor();
        _difference = new float[Parameters];
    }

    /// <summary>Reference: folds the float32 update into a FedAvg running sum in 1 MiB chunks.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("fold")]
    public float FoldFloat32() => Fold(new FedAvg().CreateTrainAggregator(Context, _global), _reply);

    /// <summary>Decodes the compressed update block by block and folds it, in 1 MiB chunks of encoded bytes.</summary>
    [Benchmark]
    [BenchmarkCategory("fold")]
    public float DecodeAndFold() =>
        Fold(UpdateCompression.Wrap(new FedAvg().CreateTrainAggregator(Context, _global), _global, new ConfigRecord { [UpdateCompression.ConfigKey] = Codec }), _encoded[Codec]);

    /// <summary>Reference: the plain difference local - global a client would send uncompressed as a delta.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("encode")]
    public float Difference()
    {
        TensorPrimitives.Subtract(_reply.Content!.Arrays[RecordNames.Model]["w"].AsSpan<float>(), _global["w"].AsSpan<float>(), _difference);
        return _difference[0];
    }

    /// <summary>Error feedback and encoding on the client.</summary>
    [Benchmark]
    [BenchmarkCategory("encode")]
    public long Encode() => _compressors[Codec].Compress(UpdateCodec.Parse(Codec)!, _instruction, _reply).Content!.Arrays[RecordNames.Model]["w"].ByteLength;

    private static float Fold(ITrainAggregator aggregator, Message reply)
    {
        var streaming = (IStreamingTrainAggregator)aggregator;
        var fold = streaming.BeginUpdate(1, reply.Content!.Metrics[RecordNames.Metrics]);
        var tensor = reply.Content.Arrays[RecordNames.Model]["w"];
        var bytes = tensor.AsBytes();
        int elem = tensor.DType.SizeOf();
        for (int at = 0; at < bytes.Length; at += ChunkSize)
        {
            int n = Math.Min(ChunkSize, bytes.Length - at);
            fold.FoldChunk(0, at / elem, bytes.Slice(at, n));
        }

        fold.Commit();
        return MemoryMarshal.Cast<byte, float>(aggregator.Complete().Parameters!["w"].AsBytes())[0];
    }
}
