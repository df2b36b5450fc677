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
    public void FromReply_ConfigRecordStringsAndBytes_BecomeTextMetrics()
    {
        var instruction = Train();
        var (root, objects) = Reply(instruction, [("w", Npy.Write(Tensor.FromArray([4f, 5f, 6f], 3))), ("b", Npy.Write(Tensor.FromArray([1f], 1)))], 64);
        var config = new FlowerFleet.ConfigRecord();
        config.Items.Add(new FlowerFleet.ConfigRecord.Types.Item { Key = "device", Value = new FlowerFleet.ConfigRecordValue { String = "cpu" } });
        config.Items.Add(new FlowerFleet.ConfigRecord.Types.Item { Key = "digest", Value = new FlowerFleet.ConfigRecordValue { Bytes = ByteString.CopyFrom(9) } });
        config.Items.Add(new FlowerFleet.ConfigRecord.Types.Item { Key = "steps", Value = new FlowerFleet.ConfigRecordValue { Sint64 = 5 } });
        (root, objects) = WithRecord(objects, root, "info", "ConfigRecord", config.ToByteArray());

        var reply = FlowerFleetMapping.FromReply(instruction, root, objects);

        Assert.Null(reply.Error);
        var text = reply.Content!.Configs[RecordNames.Metrics];
        Assert.Equal(["device", "digest"], text.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("cpu", text["device"].AsString());
        Assert.Equal(new byte[] { 9 }, text["digest"].AsBytes());
        Assert.Equal(5, reply.Content.Configs["info"]["steps"].AsLong());
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

    [Fact]
    public void ToOutgoing_Flower123_ArraysAsJsonWithChunksReadBack()
    {
        var instruction = Train();
        var big = new float[(FlowerFleetMapping.ArrayChunkSize / 4) + 10]; // zeros: 5 MiB + 40 bytes of data plus the .npy header
        instruction.Content!.Arrays[RecordNames.Model].Add("big", Tensor.FromArray(big, big.Length));

        var outgoing = FlowerFleetMapping.ToOutgoing(instruction, 42, 1000.5, FlowerFleetVersion.Flower123);

        var arrays = outgoing.Objects.Values.Select(v => FlowerObject.Parse(v)).Where(o => o.Type == "Array").ToList();
        var w = arrays.Single(a => Encoding.UTF8.GetString(a.Body.Span).Contains("[3]", StringComparison.Ordinal));
        Assert.Equal("{\"dtype\": \"float32\", \"shape\": [3], \"stype\": \"numpy.ndarray\", \"arraychunk_ids\": [0]}", Encoding.UTF8.GetString(w.Body.Span));
        Assert.Equal(Npy.Write(Tensor.FromArray([1f, 2f, 3f], 3)), FlowerObject.Parse(outgoing.Objects[w.Children[0]]).Body.ToArray());
        var bigArray = arrays.Single(a => a.Children.Count == 2);
        Assert.EndsWith("\"arraychunk_ids\": [0, 1]}", Encoding.UTF8.GetString(bigArray.Body.Span), StringComparison.Ordinal);
        Assert.Equal(FlowerFleetMapping.ArrayChunkSize, FlowerObject.Parse(outgoing.Objects[bigArray.Children[0]]).Body.Length);

        // The tree lists every object once per place, chunks under their array; the instruction reads back.
        var tree = outgoing.Tree();
        Assert.Equal(outgoing.MessageId, tree.ObjectId);
        Assert.Equal(outgoing.Objects.Keys.Order(StringComparer.Ordinal), FlowerFleetMapping.TreeIds(tree).Order(StringComparer.Ordinal));
        var back = FlowerFleetMapping.ToInstruction(outgoing.MessageId, outgoing.Objects.ToDictionary(kv => kv.Key, kv => kv.Value), "r", 7, null);
        Assert.Equal([1f, 2f, 3f], back.Content!.Arrays[RecordNames.Model]["w"].GetArray<float>());
        Assert.Equal(big.Length, back.Content.Arrays[RecordNames.Model]["big"].GetArray<float>().Length);
    }

    [Fact]
    public void Wire_PullForCreateNodeNodes_ServesBoth119AndProbeShapes()
    {
        var outgoing = FlowerFleetMapping.ToOutgoing(Train(), 42, 0);
        var response = new FlowerFleet.PullMessagesResponse();

        FlowerFleetWire.AddObjectsToPull(response, outgoing, FlowerFleetVersion.Flower119);

        // 1.19 reads the map (the last entry for the key wins); 1.20 to 1.22 read the first tree: the probe.
        Assert.Equal(outgoing.ObjectIds, FlowerFleetWire.ReadObjectsToPull(response, outgoing.MessageId, FlowerFleetVersion.Flower119));
        Assert.Equal([FlowerFleetWire.ProbeObjectId, outgoing.MessageId], FlowerFleetWire.ReadObjectsToPull(response, outgoing.MessageId, FlowerFleetVersion.Flower123));

        var newer = new FlowerFleet.PullMessagesResponse();
        FlowerFleetWire.AddObjectsToPull(newer, FlowerFleetMapping.ToOutgoing(Train(), 42, 0, FlowerFleetVersion.Flower123), FlowerFleetVersion.Flower123);
        Assert.Single(newer.ObjectsToPull);
        Assert.Equal(FlowerFleet.ObjectTree.Parser.ParseFrom(newer.ObjectsToPull[0]).ObjectId, FlowerFleetWire.ReadObjectsToPull(newer, "", FlowerFleetVersion.Flower123)[^1]);
    }

    [Fact]
    public void Wire_ObjectsToPush_EachVersionsShape()
    {
        var ids = new[] { new string('a', 64), new string('b', 64) };
        var old = new FlowerFleet.PushMessagesResponse();
        var newer = new FlowerFleet.PushMessagesResponse();

        FlowerFleetWire.AddObjectsToPush(old, "root", ids, FlowerFleetVersion.Flower119);
        FlowerFleetWire.AddObjectsToPush(newer, "root", ids, FlowerFleetVersion.Flower123);

        Assert.Equal(ids, FlowerFleetWire.ReadObjectsToPush(old, "root", FlowerFleetVersion.Flower119));
        Assert.Empty(FlowerFleetWire.ReadObjectsToPush(old, "other", FlowerFleetVersion.Flower119));
        Assert.Equal(ids, FlowerFleetWire.ReadObjectsToPush(newer, "root", FlowerFleetVersion.Flower123));
        Assert.Equal(ids.Select(i => ByteString.CopyFromUtf8(i)), newer.ObjectsToPush); // 1.20+: repeated string
    }

    /// <summary>The reply with one more record in its RecordDict (a new RecordDict and Message object).</summary>
    private static (string Root, Dictionary<string, byte[]> Objects) WithRecord(Dictionary<string, byte[]> objects, string root, string key, string type, byte[] body)
    {
        string Put(string t, IReadOnlyList<string> children, byte[] b)
        {
            var bytes = new FlowerObject(t, children, b).ToBytes();
            var id = FlowerObject.IdOf(bytes);
            objects[id] = bytes;
            return id;
        }

        var message = FlowerObject.Parse(objects[root]);
        var dict = FlowerObject.Parse(objects[message.Children[0]]);
        var record = Put(type, [], body);
        var json = Encoding.UTF8.GetString(dict.Body.Span).TrimEnd('}') + $", \"{key}\": \"{record}\"}}";
        var newDict = Put("RecordDict", [.. dict.Children, record], Encoding.UTF8.GetBytes(json));
        return (Put("Message", [newDict], message.Body.ToArray()), objects);
    }
}
