using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;

namespace Federate.Protocol.Tests;

public sealed class MappingTests
{
    [Fact]
    public void ConfigRecord_RoundTrip_KeepsKindsValuesAndOrder()
    {
        var config = new ConfigRecord { ["local_epochs"] = 5, ["lr"] = 0.1, ["dp"] = true, ["name"] = "x", ["blob"] = new byte[] { 1, 2 } };
        var back = Mapping.FromProto(Mapping.ToProto("config", config));
        Assert.Equal(config.Keys, back.Keys);
        foreach (var k in config.Keys)
        {
            Assert.Equal(config[k], back[k]);
        }
    }

    [Fact]
    public void MetricRecord_RoundTrip_KeepsValuesAndOrder()
    {
        var metrics = new MetricRecord { ["loss"] = 0.25, ["num_examples"] = 120 };
        var back = Mapping.FromProto(Mapping.ToProto("metrics", metrics));
        Assert.Equal(metrics.ToList(), back.ToList());
    }

    [Fact]
    public void Metadata_RoundTrip_KeepsEveryField()
    {
        var m = new MessageMetadata { RunId = "r", Round = 3, MessageType = MessageType.Evaluate, SourceNodeId = 0, DestinationNodeId = 7, MessageId = "r/3/evaluate/7", ReplyTo = null, TimeToLive = TimeSpan.FromMinutes(5) };
        Assert.Equal(m, Mapping.FromProto(m.ToProto()));
    }

    [Fact]
    public void TryAllocate_HostileLayouts_RefusedWithReason()
    {
        var negative = new TensorLayout { Record = "model", Name = "w", Dtype = DataType.Float32 };
        negative.Shape.Add(-1);
        Assert.Contains("negative dimension", Mapping.TryAllocate([negative], new RecordDict(), out _), StringComparison.Ordinal);

        var huge = new TensorLayout { Record = "model", Name = "w", Dtype = DataType.Float64 };
        huge.Shape.Add(1L << 30);
        Assert.Contains("exceeds 2 GiB", Mapping.TryAllocate([huge], new RecordDict(), out _), StringComparison.Ordinal);

        var unknown = new TensorLayout { Record = "model", Name = "w", Dtype = (DataType)99 };
        Assert.Contains("unknown dtype", Mapping.TryAllocate([unknown], new RecordDict(), out _), StringComparison.Ordinal);

        var a = new TensorLayout { Record = "model", Name = "w", Dtype = DataType.Float32 };
        Assert.Contains("duplicate name", Mapping.TryAllocate([a, a.Clone()], new RecordDict(), out _), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckVersion_OtherVersion_NamesBothVersions()
    {
        Assert.Null(FleetProtocol.CheckVersion(FleetProtocol.Version, "client"));
        Assert.Equal("the client speaks federate fleet protocol v2 but this side speaks v1; upgrade the older side", FleetProtocol.CheckVersion(2, "client"));
        Assert.Contains("sent no protocol version", FleetProtocol.CheckVersion(0, "client"), StringComparison.Ordinal);
    }
}
