using System.Runtime.InteropServices;
using Federate.Core.Compression;
using Federate.Core.Strategies;

namespace Federate.Core.Tests.Compression;

/// <summary>Error feedback on the client, and decoding on the server: whole, streamed in odd chunks, and hostile.</summary>
public sealed class UpdateCompressorTests
{
    private static readonly RoundContext Context = new() { RunId = "r", Round = 1, Seed = 3 };

    private static ArrayRecord Global(int n = 2500) => new()
    {
        { "w", Tensor.FromArray(Enumerable.Range(0, n).Select(i => MathF.Sin(i) * 0.5f).ToArray(), n) },
        { "steps", Tensor.FromArray(new long[] { 7 }, 1) },
        { "b", Tensor.FromArray(Enumerable.Range(0, 10).Select(i => i * 0.01f).ToArray(), 10) },
    };

    private static ArrayRecord Local(ArrayRecord global, int client) => new(global.Select(kv => new KeyValuePair<string, Tensor>(kv.Key,
        kv.Value.DType == DType.Float32
            ? Tensor.FromArray(kv.Value.AsSpan<float>().ToArray().Select((v, j) => v + (MathF.Cos((client * 13) + j) * 0.01f * (1 + (j % 7)))).ToArray(), [.. kv.Value.Shape])
            : kv.Value)));

    private static (Message Instruction, Message Reply) Exchange(ArrayRecord global, ArrayRecord local, string codec, long node = 1, int examples = 10)
    {
        var config = new ConfigRecord { [UpdateCompression.ConfigKey] = codec };
        var instruction = new FedAvg().ConfigureTrain(Context, global, config, [new NodeInfo(node, "n")])[0];
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = local;
        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = examples, ["loss"] = 0.5 };
        return (instruction, new Message(instruction.Metadata with { SourceNodeId = node, DestinationNodeId = 0 }, content));
    }

    [Fact]
    public void Compress_ErrorFeedback_ResidualIsWhatTheEncodingLost_AndCarriesOver()
    {
        var global = Global();
        var local = Local(global, 1);
        var codec = UpdateCodec.Parse("int8")!;
        var compressor = new UpdateCompressor();
        var delta = local["w"].AsSpan<float>().ToArray().Select((v, i) => v - global["w"].AsSpan<float>()[i]).ToArray();

        var (instruction, reply) = Exchange(global, local, "int8");
        var first = compressor.Compress(codec, instruction, reply);
        var d1 = new float[delta.Length];
        Assert.Null(codec.Decode(first.Content!.Arrays[RecordNames.Model]["w"].AsBytes(), d1));
        var r1 = compressor.Residual("w")!;
        for (int i = 0; i < delta.Length; i++)
        {
            Assert.Equal(delta[i] - d1[i], r1[i]);
        }

        // Round 2 with the same difference: it encodes delta + r1, and keeps what that lost.
        var second = compressor.Compress(codec, instruction, reply);
        var d2 = new float[delta.Length];
        Assert.Null(codec.Decode(second.Content!.Arrays[RecordNames.Model]["w"].AsBytes(), d2));
        var r2 = compressor.Residual("w")!;
        for (int i = 0; i < delta.Length; i++)
        {
            Assert.Equal((delta[i] + r1[i]) - d2[i], r2[i]);
            // Nothing is lost for good: what was sent plus what is kept is the two rounds' differences.
            Assert.Equal(2 * delta[i], d1[i] + d2[i] + r2[i], 6);
        }

        Assert.NotEqual(d1, d2);
        Assert.Null(compressor.Residual("steps")); // int64 travels as it is
        Assert.Same(local["steps"], first.Content.Arrays[RecordNames.Model]["steps"]);
        long bytes = codec.EncodedLength(2500) + 8 + codec.EncodedLength(10);
        Assert.Equal(bytes, first.Content.Metrics[RecordNames.Metrics][UpdateCompression.CompressedBytesMetric]);
        Assert.Equal(0.5, first.Content.Metrics[RecordNames.Metrics]["loss"]);
    }

    [Fact]
    public async Task Mod_WithoutTheSetting_LeavesReplyAndResidualsUntouched()
    {
        var global = Global();
        var (instruction, reply) = Exchange(global, Local(global, 1), "none");
        var compressor = new UpdateCompressor();
        var result = await compressor.Mod(instruction, (_, _) => ValueTask.FromResult(reply), CancellationToken.None);
        Assert.Same(reply, result);
        Assert.Null(compressor.Residual("w"));
    }

    [Fact]
    public void Compress_NaNInUpdate_OneLineRefusal()
    {
        var global = Global();
        var local = Local(global, 1);
        local["w"].AsSpan<float>()[3] = float.NaN;
        var (instruction, reply) = Exchange(global, local, "int8");
        var ex = Assert.Throws<InvalidOperationException>(() => new UpdateCompressor().Compress(UpdateCodec.Parse("int8")!, instruction, reply));
        Assert.Equal("the update's tensor 'w' holds NaN or infinity; lower 'lr' or check the data", ex.Message);
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("fp16")]
    [InlineData("topk:0.05")]
    public void Aggregator_StreamedInOddChunks_EqualsWholeUpdates_BitForBit(string spec)
    {
        var global = Global();
        var replies = Enumerable.Range(0, 3).Select(c =>
        {
            var (instruction, reply) = Exchange(global, Local(global, c), spec, node: c + 1, examples: 10 + c);
            return new UpdateCompressor().Compress(UpdateCodec.Parse(spec)!, instruction, reply);
        }).ToList();
        var config = new ConfigRecord { [UpdateCompression.ConfigKey] = spec };

        var whole = UpdateCompression.Wrap(new FedAvg().CreateTrainAggregator(Context, global), global, config);
        foreach (var reply in replies)
        {
            Assert.Null(whole.Add(reply));
        }

        var streamed = (IStreamingTrainAggregator)UpdateCompression.Wrap(new FedAvg().CreateTrainAggregator(Context, global), global, config);
        Assert.True(streamed.CanStream);
        var random = new Random(5);
        foreach (var reply in replies)
        {
            var fold = streamed.BeginUpdate(reply.Metadata.SourceNodeId, reply.Content!.Metrics[RecordNames.Metrics]);
            int index = 0;
            foreach (var (_, tensor) in reply.Content.Arrays[RecordNames.Model])
            {
                // Chunks of 1 to 3000 bytes: blocks split across chunks, several blocks in one chunk.
                var bytes = tensor.AsBytes().ToArray();
                int elem = tensor.DType.SizeOf();
                for (int at = 0; at < bytes.Length;)
                {
                    int n = Math.Min(bytes.Length - at, random.Next(1, 3000 / elem) * elem);
                    fold.FoldChunk(index, at / elem, bytes.AsSpan(at, n));
                    at += n;
                }

                index++;
            }

            fold.Commit();
        }

        var a = whole.Complete();
        var b = streamed.Complete();
        foreach (var (name, tensor) in a.Parameters!)
        {
            Assert.Equal(tensor.AsBytes().ToArray(), b.Parameters![name].AsBytes().ToArray());
        }

        Assert.Equal(a.Metrics[UpdateCompression.UpdateBytesMetric], b.Metrics[UpdateCompression.UpdateBytesMetric]);
        Assert.False(a.Metrics.ContainsKey(UpdateCompression.CompressedBytesMetric));
        var codec = UpdateCodec.Parse(spec)!;
        double sent = 3 * (codec.EncodedLength(2500) + 8 + codec.EncodedLength(10));
        Assert.Equal(sent, a.Metrics[UpdateCompression.UpdateBytesMetric]);
        Assert.Equal(sent / (3 * global.ByteLength), a.Metrics[UpdateCompression.RatioMetric]);

        // The decoded model is close to the plain FedAvg of the same updates (one round, so within the codec's error).
        var plain = new FedAvg().CreateTrainAggregator(Context, global);
        for (int c = 0; c < 3; c++)
        {
            Assert.Null(plain.Add(Exchange(global, Local(global, c), spec, node: c + 1, examples: 10 + c).Reply));
        }

        var expected = plain.Complete().Parameters!["w"].AsSpan<float>().ToArray();
        var got = a.Parameters!["w"].AsSpan<float>().ToArray();
        double tolerance = spec.StartsWith("topk", StringComparison.Ordinal) ? 0.08 : 0.001;
        Assert.All(Enumerable.Range(0, expected.Length), i => Assert.True(Math.Abs(expected[i] - got[i]) <= tolerance, $"w[{i}]: {got[i]} vs {expected[i]}"));
    }

    [Fact]
    public void Aggregator_MixedFleet_PlainReplyFoldsAsItIs()
    {
        var global = Global();
        var config = new ConfigRecord { [UpdateCompression.ConfigKey] = "int8" };
        var aggregator = UpdateCompression.Wrap(new FedAvg().CreateTrainAggregator(Context, global), global, config);
        var (instruction, compressed) = Exchange(global, Local(global, 1), "int8", node: 1);
        Assert.Null(aggregator.Add(new UpdateCompressor().Compress(UpdateCodec.Parse("int8")!, instruction, compressed)));
        Assert.Null(aggregator.Add(Exchange(global, Local(global, 2), "int8", node: 2).Reply)); // a Flower client: float32
        var result = aggregator.Complete();
        Assert.Equal(2, aggregator.Count);
        double sent = UpdateCodec.Parse("int8")!.EncodedLength(2500) + 8 + UpdateCodec.Parse("int8")!.EncodedLength(10) + global.ByteLength;
        Assert.Equal(sent, result.Metrics[UpdateCompression.UpdateBytesMetric]);
    }

    [Fact]
    public void Aggregator_HostileWholeUpdates_RefusedWithReason()
    {
        var global = Global();
        var config = new ConfigRecord { [UpdateCompression.ConfigKey] = "int8" };
        var aggregator = UpdateCompression.Wrap(new FedAvg().CreateTrainAggregator(Context, global), global, config);
        var (instruction, reply) = Exchange(global, Local(global, 1), "int8");
        var good = new UpdateCompressor().Compress(UpdateCodec.Parse("int8")!, instruction, reply);

        // A NaN scale in block 1 of 'w'.
        var nan = Clone(good);
        MemoryMarshal.Write(nan.Content!.Arrays[RecordNames.Model]["w"].AsBytes()[(4 + UpdateCodec.BlockSize)..], float.NaN);
        Assert.Equal("the int8 update does not decode: tensor 'w' block 1: its scale is NaN", aggregator.Add(nan));

        // A tensor of the wrong size.
        var shortened = Clone(good);
        var model = new ArrayRecord(shortened.Content!.Arrays[RecordNames.Model].Select(kv => kv.Key == "b" ? new KeyValuePair<string, Tensor>("b", Tensor.FromArray(new byte[13], 13)) : kv));
        shortened.Content.Arrays[RecordNames.Model] = model;
        Assert.Equal("the int8 update does not decode: tensor 'b' should travel as UInt8[14], got UInt8[13]", aggregator.Add(shortened));

        // A huge scale: the parameters decode to infinity.
        var huge = Clone(good);
        MemoryMarshal.Write(huge.Content!.Arrays[RecordNames.Model]["w"].AsBytes(), float.MaxValue);
        Assert.Equal("the int8 update does not decode: tensor 'w' block 0 decodes to NaN or infinity", aggregator.Add(huge));

        Assert.Equal(0, aggregator.Count);
        Assert.Null(aggregator.Add(good));
    }

    [Fact]
    public void Decoder_StreamedHostileOrOutOfOrder_Refused()
    {
        var global = Global();
        var tensors = global.Select(kv => kv.Value).ToList();
        var decoder = new UpdateDecoder(UpdateCodec.Parse("int8")!, tensors, global.Names);
        Assert.Equal("bytes of tensor 'w' at offset 5, expected 0", decoder.Check(0, 5, new byte[3]));
        Assert.Null(decoder.Check(0, 0, new byte[3])); // a partial block waits
        Assert.Equal("tensor 'w' ended in the middle of a block", decoder.Check(1, 0, new byte[8]));

        var fresh = new UpdateDecoder(UpdateCodec.Parse("int8")!, tensors, global.Names);
        var tooLong = new byte[UpdateCodec.Parse("int8")!.EncodedLength(2500) + 1];
        Assert.Equal("tensor 'w' has more bytes than int8 needs for its 2500 values", fresh.Check(0, 0, tooLong));
    }

    private static Message Clone(Message message)
    {
        var content = new RecordDict();
        content.Metrics[RecordNames.Metrics] = message.Content!.Metrics[RecordNames.Metrics];
        content.Arrays[RecordNames.Model] = new ArrayRecord(message.Content.Arrays[RecordNames.Model].Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.Clone())));
        return new Message(message.Metadata, content);
    }
}
