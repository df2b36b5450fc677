using Federate.Core;

namespace Federate.Core.Tests;

public class RecordsTests
{
    [Fact]
    public void Tensor_FromArray_WrapsWithoutCopy()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = Tensor.FromArray(data, 2, 3);
        data[0] = 42;
        Assert.Equal(42f, t.AsSpan<float>()[0]);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(24, t.ByteLength);
    }

    [Fact]
    public void Tensor_FromArray_ShapeMismatch_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Contains("6 elements", ex.Message);
    }

    [Fact]
    public void Tensor_AsSpan_WrongType_Throws()
    {
        var t = Tensor.FromArray(new double[] { 1.0 }, 1);
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Tensor_FromBytes_ReadsLittleEndian()
    {
        var t = Tensor.FromBytes(DType.Int32, new byte[] { 1, 0, 0, 0, 0, 1, 0, 0 }, 2);
        Assert.Equal(new[] { 1, 256 }, t.AsSpan<int>().ToArray());
    }

    [Fact]
    public void ArrayRecord_KeepsOrderAndRejectsDuplicates()
    {
        var r = new ArrayRecord { { "b", Tensor.FromArray(new float[1], 1) }, { "a", Tensor.FromArray(new float[2], 2) } };
        Assert.Equal(new[] { "b", "a" }, r.Names);
        Assert.Equal(3, r.ElementCount);
        Assert.Throws<ArgumentException>(() => r.Add("a", Tensor.FromArray(new float[1], 1)));
    }

    [Fact]
    public void ArrayRecord_DescribeLayoutMismatch_NamesTheDifference()
    {
        var a = new ArrayRecord { { "w", Tensor.FromArray(new float[6], 2, 3) } };
        var b = new ArrayRecord { { "w", Tensor.FromArray(new float[6], 3, 2) } };
        var c = new ArrayRecord { { "v", Tensor.FromArray(new float[6], 2, 3) } };
        var d = new ArrayRecord { { "w", Tensor.FromArray(new double[6], 2, 3) } };
        Assert.Null(a.DescribeLayoutMismatch(a.Clone()));
        Assert.Equal("tensor 'w' should be Float32[2,3], got Float32[3,2]", a.DescribeLayoutMismatch(b));
        Assert.Equal("tensor 0 should be named 'w', got 'v'", a.DescribeLayoutMismatch(c));
        Assert.Equal("tensor 'w' should be Float32[2,3], got Float64[2,3]", a.DescribeLayoutMismatch(d));
        Assert.Equal("expected 1 tensors, got 0", a.DescribeLayoutMismatch(new ArrayRecord()));
    }

    [Fact]
    public void ArrayRecord_Clone_IsDeep()
    {
        var a = new ArrayRecord { { "w", Tensor.FromArray(new float[] { 1, 2 }, 2) } };
        var b = a.Clone();
        b["w"].AsSpan<float>()[0] = 9;
        Assert.Equal(1f, a["w"].AsSpan<float>()[0]);
    }

    [Fact]
    public void ConfigRecord_TypedAccessAndParsing()
    {
        var c = new ConfigRecord
        {
            ["epochs"] = 3,
            ["lr"] = 0.1,
            ["name"] = "x",
            ["flag"] = true,
        };
        c["epochs"] = 4;
        Assert.Equal(new[] { "epochs", "lr", "name", "flag" }, c.Keys);
        Assert.Equal(4, c.GetLong("epochs", 0));
        Assert.Equal(0.1, c.GetDouble("lr", 0));
        Assert.Equal(4.0, c.GetDouble("epochs", 0));
        Assert.True(c.GetBool("flag", false));
        Assert.Equal(7, c.GetLong("missing", 7));
        Assert.Throws<InvalidCastException>(() => c["name"].AsDouble());
        Assert.Equal(ConfigValueKind.Long, ConfigValue.Parse("12").Kind);
        Assert.Equal(ConfigValueKind.Double, ConfigValue.Parse("1e-3").Kind);
        Assert.Equal(ConfigValueKind.Bool, ConfigValue.Parse("true").Kind);
        Assert.Equal(ConfigValueKind.String, ConfigValue.Parse("adam").Kind);
    }

    [Fact]
    public void Message_CreateReply_SwapsEndpointsAndLinks()
    {
        var m = new Message(new MessageMetadata { RunId = "r", Round = 2, MessageType = MessageType.Train, SourceNodeId = 0, DestinationNodeId = 5, MessageId = "m1" }, new RecordDict());
        var reply = m.CreateErrorReply(new MessageError("client_error", "boom"));
        Assert.Equal(5, reply.Metadata.SourceNodeId);
        Assert.Equal(0, reply.Metadata.DestinationNodeId);
        Assert.Equal("m1", reply.Metadata.ReplyTo);
        Assert.False(reply.HasContent);
        Assert.Equal("boom", reply.Error!.Reason);
    }

    [Fact]
    public void Seeds_Derive_IsStableAndSpreads()
    {
        Assert.Equal(Seeds.Derive(1, 2, "x"), Seeds.Derive(1, 2, "x"));
        Assert.NotEqual(Seeds.Derive(1, 2, "x"), Seeds.Derive(1, 3, "x"));
        Assert.NotEqual(Seeds.Derive(1, 2, "x"), Seeds.Derive(1, 2, "y"));
        Assert.NotEqual(Seeds.Derive(1, 2, "x"), Seeds.Derive(2, 2, "x"));
        Assert.True(Seeds.Derive(0, 0, "") >= 0);
    }
}
