using System.Buffers.Binary;
using System.Text;
using Federate.Core;

namespace Federate.Core.Tests;

public class FormatsTests
{
    [Fact]
    public void Safetensors_Write_ProducesReferenceLayout()
    {
        var record = new ArrayRecord { { "a", Tensor.FromArray(new float[] { 1, 2 }, 2) } };
        using var ms = new MemoryStream();
        Safetensors.Write(ms, record);
        var bytes = ms.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Equal("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header.TrimEnd());
        Assert.Equal(0, (8 + headerLength) % 8);
        Assert.Equal(8 + headerLength + 8, bytes.Length);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + headerLength));
        Assert.Equal(2f, BitConverter.ToSingle(bytes, 8 + headerLength + 4));
    }

    [Fact]
    public void Safetensors_RoundTrip_KeepsOrderDTypesAndMetadata()
    {
        var record = new ArrayRecord
        {
            { "z.weight", Tensor.FromArray(new float[] { 1.5f, -2, 3, 4, 5, 6 }, 2, 3) },
            { "a.stats", Tensor.FromArray(new double[] { Math.PI }, 1) },
            { "count", Tensor.FromArray(new long[] { long.MaxValue, -1 }, 2) },
        };
        var path = Path.Combine(Path.GetTempPath(), $"federate-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.WriteFile(path, record, new Dictionary<string, string> { ["model"] = "mlp" });
            var back = Safetensors.ReadFile(path, out var meta);
            Assert.Equal(record.Names, back.Names);
            Assert.Null(record.DescribeLayoutMismatch(back));
            Assert.Equal(record["z.weight"].AsSpan<float>().ToArray(), back["z.weight"].AsSpan<float>().ToArray());
            Assert.Equal(Math.PI, back["a.stats"].AsSpan<double>()[0]);
            Assert.Equal(long.MaxValue, back["count"].AsSpan<long>()[0]);
            Assert.Equal("mlp", meta["model"]);
            Assert.False(File.Exists(path + ".tmp-" + Environment.ProcessId));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Safetensors_WriteFileWithSha256_ReturnsTheWrittenFilesDigestAndLength()
    {
        var record = new ArrayRecord
        {
            { "w", Tensor.FromArray(Enumerable.Range(0, 300_000).Select(i => (float)i).ToArray(), 300_000) },
            { "b", Tensor.FromArray(new double[] { 1, -2 }, 2) },
        };
        var path = Path.Combine(Path.GetTempPath(), $"federate-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (sha, bytes) = Safetensors.WriteFileWithSha256(path, record, new Dictionary<string, string> { ["round"] = "3" });
            var onDisk = File.ReadAllBytes(path);
            Assert.Equal(onDisk.Length, bytes);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(onDisk)), sha);
            using var expected = new MemoryStream();
            Safetensors.Write(expected, record, new Dictionary<string, string> { ["round"] = "3" });
            Assert.Equal(expected.ToArray(), onDisk);
            Assert.False(File.Exists(path + ".tmp-" + Environment.ProcessId));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Safetensors_Write_IsDeterministic()
    {
        var record = new ArrayRecord { { "w", Tensor.FromArray(new float[] { 1, 2, 3 }, 3) } };
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        Safetensors.Write(a, record, new Dictionary<string, string> { ["y"] = "2", ["x"] = "1" });
        Safetensors.Write(b, record, new Dictionary<string, string> { ["x"] = "1", ["y"] = "2" });
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("badjson")]
    [InlineData("hugeheader")]
    [InlineData("baddtype")]
    [InlineData("badoffsets")]
    public void Safetensors_Read_MalformedInput_ThrowsInvalidData(string kind)
    {
        byte[] Build(string header, int dataBytes)
        {
            var h = Encoding.UTF8.GetBytes(header);
            var b = new byte[8 + h.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
            h.CopyTo(b, 8);
            return b;
        }

        byte[] bytes = kind switch
        {
            "truncated" => Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
            "badjson" => Build("{\"a\":", 0),
            "hugeheader" => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2],
            "baddtype" => Build("{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
            _ => Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 12),
        };
        using var ms = new MemoryStream(bytes);
        Assert.Throws<InvalidDataException>(() => Safetensors.Read(ms, out _));
    }

    [Fact]
    public void HistoryJson_RoundTrip_KeepsRoundsFailuresAndStop()
    {
        var h = new RunHistory { RunId = "abc", Config = new Dictionary<string, object?> { ["seed"] = 3, ["dataset"] = "digits", ["threshold"] = null } };
        h.Rounds.Add(new RoundRecord
        {
            Round = 1,
            Train = new MetricRecord { ["loss"] = 0.5 },
            Evaluate = new MetricRecord { ["accuracy"] = 0.9, ["f1"] = 0.8 },
            Results = 2,
            Failures = [new RoundFailure(3, "train", "dropped", "injected failure")],
            Seconds = 1.25,
        });
        h.StopReason = StopReasons.RoundLimit;
        h.StopDetail = "reached the round limit of 1";
        var json = HistoryJson.Serialize(h);
        var back = HistoryJson.Parse(json);
        Assert.Equal("abc", back.RunId);
        Assert.Equal(3L, back.Config["seed"]);
        Assert.Equal(0.9, back.Rounds[0].Evaluate["accuracy"]);
        Assert.Equal("dropped", back.Rounds[0].Failures[0].Code);
        Assert.Equal(StopReasons.RoundLimit, back.StopReason);
        Assert.Contains("\"clients\": {", json);
        Assert.Contains("\"failures\": 1", json);
    }

    [Fact]
    public void HistoryJson_TextMetrics_WrittenPerNodeAndReadBack()
    {
        var h = new RunHistory { RunId = "abc" };
        h.Rounds.Add(new RoundRecord
        {
            Round = 1,
            TrainValues = [new NodeMetricValue(2, "device", "cuda:0"), new NodeMetricValue(3, "digest", new byte[] { 1, 2, 255 })],
            EvaluateValues = [new NodeMetricValue(2, "split", "test")],
        });
        h.Rounds.Add(new RoundRecord { Round = 2 });

        var json = HistoryJson.Serialize(h);
        var back = HistoryJson.Parse(json);

        Assert.Contains("\"train_values\": [", json);
        Assert.Contains("\"bytes\": \"AQL/\"", json);
        Assert.Equal(1, json.Split("train_values").Length - 1); // a round without text metrics keeps its shape
        Assert.Equal(("device", "cuda:0", 2L), (back.Rounds[0].TrainValues[0].Key, back.Rounds[0].TrainValues[0].Value.AsString(), back.Rounds[0].TrainValues[0].NodeId));
        Assert.Equal(new byte[] { 1, 2, 255 }, back.Rounds[0].TrainValues[1].Value.AsBytes());
        Assert.Equal("base64:AQL/", back.Rounds[0].TrainValues[1].Display);
        Assert.Equal("test", back.Rounds[0].EvaluateValues[0].Value.AsString());
        Assert.Empty(back.Rounds[1].TrainValues);
    }

    [Fact]
    public void NodeMetricValue_Of_TakesStringsAndBytesOfTheMetricsConfigRecordOnly()
    {
        var content = new RecordDict();
        content.Configs[RecordNames.Metrics] = new ConfigRecord { ["z"] = "last", ["a"] = new byte[] { 7 }, ["n"] = 3, ["flag"] = true };
        content.Configs[RecordNames.Config] = new ConfigRecord { ["other"] = "ignored" };
        var reply = new Message(new MessageMetadata { RunId = "r", Round = 1, SourceNodeId = 9, MessageType = MessageType.Evaluate }, content);

        var values = NodeMetricValue.Of(reply).ToList();

        Assert.Equal(["a", "z"], values.Select(v => v.Key));
        Assert.All(values, v => Assert.Equal(9, v.NodeId));
        Assert.Empty(NodeMetricValue.Of(new Message(reply.Metadata, new MessageError("x", "y"))));
    }
}
