using System.Text;
using Federate.Core;
using Error = Federate.Protocol.FlowerFleet.Error;
using Metadata = Federate.Protocol.FlowerFleet.Metadata;
using MetricRecordValue = Federate.Protocol.FlowerFleet.MetricRecordValue;
using FlowerFleet = Federate.Protocol.FlowerFleet;
using Google.Protobuf;
using CoreMessage = Federate.Core.Message;

namespace Federate.Protocol.Tests;

public sealed class FlowerFleetMappingTests
{
    private static CoreMessage Train(int round = 2)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray([1f, 2f, 3f], 3) }, { "b", Tensor.FromArray([0.5f], 1) } };
        content.Configs[RecordNames.Config] = new ConfigRecord { ["lr"] = 0.1, [RecordNames.ServerRound] = round };
        var metadata = new MessageMetadata { RunId = "run-a", Round = round, MessageType = MessageType.Train, DestinationNodeId = 7, MessageId = "m1" };
        return new CoreMessage(metadata, content);
    }

    [Fact]
    public void FlowerObject_BytesOfAHead_ParseBackAndHashToTheirId()
    {
        var child = new string('a', 64);
        var obj = new FlowerObject("RecordDict", [child], Encoding.UTF8.GetBytes("{}"));
        var bytes = obj.ToBytes();

        Assert.Equal("RecordDict " + child + " 2\0{}", Encoding.UTF8.GetString(bytes));
        var parsed = FlowerObject.Parse(bytes);
        Assert.Equal("RecordDict", parsed.Type);
        Assert.Equal([child], parsed.Children);
        Assert.Equal(64, FlowerObject.IdOf(bytes).Length);
    }

    [Theory]
    [InlineData("Array  5\0abc", "the object's head says 5 body bytes but it has 3")]
    [InlineData("Array abc", "the object has no head (no \\0 divider)")]
    [InlineData("Array 3\0abc", "the object's head 'Array 3' is not '<type> <children> <body length>'")]
    [InlineData("Array xyz 3\0abc", "the object's head names an invalid child id 'xyz'")]
    public void FlowerObject_BadBytes_RefusedWithReason(string content, string reason)
    {
        var ex = Assert.Throws<InvalidDataException>(() => FlowerObject.Parse(Encoding.UTF8.GetBytes(content)));
        Assert.Equal(reason, ex.Message);
    }

    [Fact]
    public void ToOutgoing_Train_MessageApiLayoutWithServerRound()
    {
        var outgoing = FlowerFleetMapping.ToOutgoing(Train(), 42, 1000.5);

        Assert.Equal(outgoing.MessageId, outgoing.ObjectIds[^1]);
        Assert.All(outgoing.Objects, kv => Assert.Equal(kv.Key, FlowerObject.IdOf(kv.Value)));
        var md = outgoing.Message.Metadata;
        Assert.Equal(("train", 42UL, 1UL, 7UL, "2", outgoing.MessageId, 1000.5), (md.MessageType, md.RunId, md.SrcNodeId, md.DstNodeId, md.GroupId, md.MessageId, md.CreatedAt));

        var message = FlowerObject.Parse(outgoing.Objects[outgoing.MessageId]);
        Assert.Equal("", FlowerFleet.Message.Parser.ParseFrom(message.Body.Span).Metadata.MessageId);
        var dict = FlowerObject.Parse(outgoing.Objects[message.Children[0]]);
        Assert.StartsWith("{\"arrays\":\"", Encoding.UTF8.GetString(dict.Body.Span), StringComparison.Ordinal);
        var configId = dict.Children[1];
        var config = FlowerFleet.ConfigRecord.Parser.ParseFrom(FlowerObject.Parse(outgoing.Objects[configId]).Body.Span);
        Assert.Equal(["lr", "server_round", "server-round"], config.Items.Select(i => i.Key));
        Assert.Equal(2, config.Items[2].Value.Sint64);
    }

    [Fact]
    public void FromReply_ArraysByKeyAndNumExamples_BecomeTheModelAndMetrics()
    {
        var instruction = Train();
        var (root, objects) = Reply(instruction, [("b", Npy.Write(Tensor.FromArray([9.0], 1))), ("w", Npy.Write(Tensor.FromArray([4f, 5f, 6f], 3)))], 64);

        var reply = FlowerFleetMapping.FromReply(instruction, root, objects);

        Assert.Null(reply.Error);
        var model = reply.Content!.Arrays[RecordNames.Model];
        Assert.Equal(["w", "b"], model.Names);
        Assert.Equal([9f], model["b"].GetArray<float>()); // float64 cast to the model's float32
        Assert.Equal(64, reply.Content.Metrics[RecordNames.Metrics][RecordNames.NumExamples]);
        Assert.Equal(0.25, reply.Content.Metrics[RecordNames.Metrics]["train_mse"]);
    }

    [Fact]
    public void FromReply_WrongShape_InvalidReplyNamingTheTensor()
    {
        var instruction = Train();
        var (root, objects) = Reply(instruction, [("0", Npy.Write(Tensor.FromArray([4f, 5f], 2))), ("1", Npy.Write(Tensor.FromArray([1f], 1)))], 64);

        var reply = FlowerFleetMapping.FromReply(instruction, root, objects);

        Assert.Equal(new MessageError("invalid_reply", "the SuperNode's reply is unreadable: tensor 0 ('w') has shape (2,) but the model's is (3,)"), reply.Error);
    }

    [Fact]
    public void FromReply_ClientAppError_ClientErrorWithReason()
    {
        var body = new FlowerFleet.Message { Metadata = new Metadata(), Error = new Error { Code = 3, Reason = "boom" } }.ToByteArray();
        var bytes = new FlowerObject("Message", [], body).ToBytes();
        var id = FlowerObject.IdOf(bytes);

        var reply = FlowerFleetMapping.FromReply(Train(), id, new Dictionary<string, byte[]> { [id] = bytes });

        Assert.Equal(new MessageError("client_error", "the SuperNode's ClientApp failed (code 3): boom"), reply.Error);
    }

    [Fact]
    public void FromReply_MissingObject_InvalidReply()
    {
        var reply = FlowerFleetMapping.FromReply(Train(), new string('0', 64), new Dictionary<string, byte[]>());

        Assert.Equal(new MessageError("invalid_reply", $"the SuperNode's reply is unreadable: object {new string('0', 64)} was not pushed"), reply.Error);
    }

    [Fact]
    public void ToInstruction_OutgoingTrain_RoundTripsToTheSameInstruction()
    {
        var outgoing = FlowerFleetMapping.ToOutgoing(Train(3), 42, 1000.5);
        var objects = outgoing.Objects.ToDictionary(kv => kv.Key, kv => kv.Value);

        var instruction = FlowerFleetMapping.ToInstruction(outgoing.MessageId, objects, "flower-run-42", 7, null);

        Assert.Equal((MessageType.Train, 3, 7L), (instruction.Metadata.MessageType, instruction.Metadata.Round, instruction.Metadata.DestinationNodeId));
        var model = instruction.Content!.Arrays[RecordNames.Model];
        Assert.Equal(["w", "b"], model.Names);
        Assert.Equal([1f, 2f, 3f], model["w"].GetArray<float>());
        Assert.Equal(0.1, instruction.Content.Configs[RecordNames.Config]["lr"].AsDouble());
    }

    [Fact]
    public void ToReplyObjects_TrainReply_ReadBackByTheServerSide()
    {
        var instruction = Train();
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray([7f, 8f, 9f], 3) }, { "b", Tensor.FromArray([1f], 1) } };
        content.Metrics[RecordNames.Metrics] = new MetricRecord { ["loss"] = 0.5, [RecordNames.NumExamples] = 12 };
        var md = new Metadata { RunId = 42, SrcNodeId = 7, DstNodeId = 1, ReplyToMessageId = "x", MessageType = "train" };

        var outgoing = FlowerFleetMapping.ToReplyObjects(instruction.CreateReply(content), md);
        var reply = FlowerFleetMapping.FromReply(instruction, outgoing.MessageId, outgoing.Objects.ToDictionary(kv => kv.Key, kv => kv.Value));

        Assert.NotNull(outgoing.Message.Content); // listed as Flower lists it: metadata and an empty content
        Assert.Equal([7f, 8f, 9f], reply.Content!.Arrays[RecordNames.Model]["w"].GetArray<float>());
        Assert.Equal(12, reply.Content.Metrics[RecordNames.Metrics][RecordNames.NumExamples]);
        var metrics = FlowerFleet.MetricRecord.Parser.ParseFrom(FlowerObject.Parse(outgoing.Objects.Values.Single(v => Encoding.UTF8.GetString(v).StartsWith("MetricRecord ", StringComparison.Ordinal))).Body.Span);
        Assert.Equal(12, metrics.Items.Single(i => i.Key == "num-examples").Value.Sint64);
    }

    [Fact]
    public void ToInstruction_UnknownMessageType_Refused()
    {
        var outgoing = FlowerFleetMapping.ToOutgoing(Train(), 42, 0);
        var objects = outgoing.Objects.ToDictionary(kv => kv.Key, kv => kv.Value);
        var message = FlowerObject.Parse(objects[outgoing.MessageId]);
        var body = FlowerFleet.Message.Parser.ParseFrom(message.Body.Span);
        body.Metadata.MessageType = "train.custom";
        var bytes = new FlowerObject("Message", message.Children, body.ToByteArray()).ToBytes();
        var id = FlowerObject.IdOf(bytes);
        objects[id] = bytes;

        var ex = Assert.Throws<InvalidDataException>(() => FlowerFleetMapping.ToInstruction(id, objects, "r", 7, null));

        Assert.Equal("message type 'train.custom' is not one a Federate client answers (train, evaluate, query)", ex.Message);
    }

    private static (string Root, Dictionary<string, byte[]> Objects) Reply(CoreMessage instruction, (string Key, byte[] Npy)[] arrays, long examples)
    {
        var objects = new Dictionary<string, byte[]>();
        string Put(string type, string[] children, byte[] body)
        {
            var bytes = new FlowerObject(type, children, body).ToBytes();
            var id = FlowerObject.IdOf(bytes);
            objects[id] = bytes;
            return id;
        }

        var ids = arrays.Select(a => (a.Key, Id: Put("Array", [], new FlowerFleet.Array { Stype = "numpy.ndarray", Data = ByteString.CopyFrom(a.Npy) }.ToByteArray()))).ToList();
        var arrayRecord = Put("ArrayRecord", [.. ids.Select(i => i.Id)], Encoding.UTF8.GetBytes("{" + string.Join(", ", ids.Select(i => $"\"{i.Key}\": \"{i.Id}\"")) + "}"));
        var metrics = new FlowerFleet.MetricRecord();
        metrics.Items.Add(new FlowerFleet.MetricRecord.Types.Item { Key = "train_mse", Value = new MetricRecordValue { Double = 0.25 } });
        metrics.Items.Add(new FlowerFleet.MetricRecord.Types.Item { Key = "num-examples", Value = new MetricRecordValue { Sint64 = examples } });
        var metricRecord = Put("MetricRecord", [], metrics.ToByteArray());
        var dict = Put("RecordDict", [arrayRecord, metricRecord], Encoding.UTF8.GetBytes($"{{\"arrays\": \"{arrayRecord}\", \"metrics\": \"{metricRecord}\"}}"));
        var root = Put("Message", [dict], new FlowerFleet.Message { Metadata = new Metadata { ReplyToMessageId = instruction.Metadata.MessageId } }.ToByteArray());
        return (root, objects);
    }
}
