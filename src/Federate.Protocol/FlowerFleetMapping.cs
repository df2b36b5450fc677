using System.Text.Json;
using Federate.Core;
using Federate.Protocol.FlowerFleet;
using Google.Protobuf;
using CoreArrayRecord = Federate.Core.Records.ArrayRecord;
using CoreConfigRecord = Federate.Core.Records.ConfigRecord;
using CoreMessage = Federate.Core.Message;
using CoreMetricRecord = Federate.Core.Records.MetricRecord;
using CoreRecordDict = Federate.Core.Records.RecordDict;
using FleetArray = Federate.Protocol.FlowerFleet.Array;
using FleetMessage = Federate.Protocol.FlowerFleet.Message;

namespace Federate.Protocol;

/// <summary>
/// Maps between Core messages and Flower's Fleet API messages (Flower 1.19, <c>proto/flower_fleet.proto</c>): an
/// instruction becomes a Message-API message (<c>message_type</c> "train", "evaluate" or "query"; content
/// <c>RecordDict{"arrays": ArrayRecord, "config": ConfigRecord}</c> as Flower's Message-API FedAvg sends it, the config
/// also carrying Flower's <c>server-round</c>) deflated into content-addressed objects; a SuperNode's reply (objects it
/// pushed) becomes a Core reply: its ArrayRecord is the model, its MetricRecords the metrics, <c>num-examples</c> the
/// example count.
/// </summary>
public static class FlowerFleetMapping
{
    /// <summary>Flower's node id of the SuperLink, the source of every instruction.</summary>
    public const ulong SuperLinkNodeId = 1;

    /// <summary>The key of the model's ArrayRecord in Flower's Message-API messages.</summary>
    public const string ArraysKey = "arrays";

    /// <summary>The metric that weighs a reply in Flower's Message-API strategies.</summary>
    public const string NumExamplesKey = "num-examples";

    /// <summary>The round number in a Flower Message-API config.</summary>
    public const string ServerRoundKey = "server-round";

    /// <summary>The serialisation type of an <c>Array</c> whose data is a <c>.npy</c> file.</summary>
    public const string NumpyStype = "numpy.ndarray";

    /// <summary>The largest <c>ArrayChunk</c> Federate writes (Flower 1.23's default, 5 MiB).</summary>
    public const int ArrayChunkSize = 5 * 1024 * 1024;

    /// <summary>Flower's numeric run id for a Federate run id (the first 8 bytes of its SHA-256, below 2^63).</summary>
    public static ulong RunIdOf(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(runId));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash) & long.MaxValue;
    }

    /// <summary>Flower's <c>message_type</c> for a Core message type.</summary>
    /// <exception cref="NotSupportedException">The type has no Flower equivalent (custom messages).</exception>
    public static string MessageTypeName(MessageType type) => type switch
    {
        MessageType.Train => "train",
        MessageType.Evaluate => "evaluate",
        MessageType.Query => "query",
        _ => throw new NotSupportedException($"SuperNodes cannot answer {type} messages"),
    };

    /// <summary>
    /// Deflates an instruction into Flower objects. The model's ArrayRecord is named "arrays", other records keep
    /// their names; each tensor is an <c>Array</c> whose data is a <c>.npy</c> file (numpy's own bytes).
    /// </summary>
    /// <param name="instruction">A train, evaluate or query instruction.</param>
    /// <param name="flowerRunId">The run id the SuperNode sees (<see cref="RunIdOf"/>).</param>
    /// <param name="createdAt">Creation time, seconds since the Unix epoch (the reply's TTL counts from it).</param>
    /// <param name="version">The SuperNode's Fleet API version (how arrays are deflated).</param>
    /// <exception cref="NotSupportedException">The instruction has a kind SuperNodes cannot answer.</exception>
    public static FlowerOutgoingMessage ToOutgoing(CoreMessage instruction, ulong flowerRunId, double createdAt, FlowerFleetVersion version = FlowerFleetVersion.Flower119)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        var meta = instruction.Metadata;
        var metadata = new Metadata
        {
            RunId = flowerRunId,
            SrcNodeId = SuperLinkNodeId,
            DstNodeId = (ulong)meta.DestinationNodeId,
            GroupId = meta.Round.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Ttl = meta.TimeToLive.TotalSeconds,
            MessageType = MessageTypeName(meta.MessageType),
            CreatedAt = createdAt,
        };
        return Deflate(metadata, instruction.Content ?? new CoreRecordDict(), null, meta.Round, version);
    }

    /// <summary>
    /// Deflates a client app's reply into the objects a SuperNode pushes (the other direction: a Federate client
    /// under a Flower SuperLink). The model's ArrayRecord is named "arrays"; the metrics keep their record's name and
    /// carry the example count as Flower's <c>num-examples</c> (an integer); an error reply becomes Flower's error.
    /// </summary>
    /// <param name="reply">The client app's reply.</param>
    /// <param name="metadata">The reply's metadata (run, nodes, reply-to, group, type, TTL, creation time).</param>
    /// <param name="version">The SuperLink's Fleet API version (how arrays are deflated).</param>
    public static FlowerOutgoingMessage ToReplyObjects(CoreMessage reply, Metadata metadata, FlowerFleetVersion version = FlowerFleetVersion.Flower119)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(metadata);
        if (reply.Error is { } error)
        {
            return Deflate(metadata, null, new Error { Code = 0, Reason = $"{error.Code}: {error.Reason}" }, 0, version);
        }

        return Deflate(metadata, reply.Content ?? new CoreRecordDict(), null, 0, version);
    }

    private static FlowerOutgoingMessage Deflate(Metadata metadata, CoreRecordDict? content, Error? error, int round, FlowerFleetVersion version)
    {
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var order = new List<string>();

        string Add(string objectType, IReadOnlyList<string> children, byte[] body)
        {
            var bytes = new FlowerObject(objectType, children, body).ToBytes();
            var id = FlowerObject.IdOf(bytes);
            if (objects.TryAdd(id, bytes))
            {
                order.Add(id);
            }

            return id;
        }

        // Flower 1.19: a protobuf Array with the .npy data inline.
        string AddInlineArray(Tensor tensor)
        {
            var array = new FleetArray { Dtype = NumpyName(tensor.DType), Stype = NumpyStype, Data = UnsafeByteOperations.UnsafeWrap(Npy.Write(tensor)) };
            array.Shape.Add(tensor.Shape.Select(d => checked((int)d)));
            return Add("Array", [], array.ToByteArray());
        }

        // Flower 1.20 and later: the .npy data in ArrayChunk children (identical chunks stored once), the Array a JSON
        // head naming them by index, written as Python's json.dumps writes it.
        string AddChunkedArray(Tensor tensor)
        {
            var data = Npy.Write(tensor);
            var chunks = new List<string>();
            for (int start = 0; start < data.Length; start += ArrayChunkSize)
            {
                chunks.Add(Add("ArrayChunk", [], data.AsSpan(start, Math.Min(ArrayChunkSize, data.Length - start)).ToArray()));
            }

            var unique = chunks.Distinct(StringComparer.Ordinal).ToList();
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var shape = string.Join(", ", tensor.Shape.Select(d => d.ToString(inv)));
            var indices = string.Join(", ", chunks.Select(c => unique.IndexOf(c).ToString(inv)));
            var json = $"{{\"dtype\": \"{NumpyName(tensor.DType)}\", \"shape\": [{shape}], \"stype\": \"{NumpyStype}\", \"arraychunk_ids\": [{indices}]}}";
            return Add("Array", unique, System.Text.Encoding.UTF8.GetBytes(json));
        }

        List<string> children = [];
        if (content is not null)
        {
            var records = new List<(string Key, string Id)>();
            foreach (var (name, arrays) in content.Arrays)
            {
                var items = new List<(string Key, string Id)>();
                foreach (var (tensorName, tensor) in arrays)
                {
                    items.Add((tensorName, version == FlowerFleetVersion.Flower119 ? AddInlineArray(tensor) : AddChunkedArray(tensor)));
                }

                records.Add((name == RecordNames.Model ? ArraysKey : name, Add("ArrayRecord", Distinct(items), JsonRefs(items))));
            }

            foreach (var (name, config) in content.Configs)
            {
                var record = ToProto(config);
                if (name == RecordNames.Config && round > 0 && !config.ContainsKey(ServerRoundKey))
                {
                    record.Items.Add(new FlowerFleet.ConfigRecord.Types.Item { Key = ServerRoundKey, Value = new ConfigRecordValue { Sint64 = round } });
                }

                records.Add((name, Add("ConfigRecord", [], record.ToByteArray())));
            }

            foreach (var (name, metrics) in content.Metrics)
            {
                var record = new FlowerFleet.MetricRecord();
                foreach (var (key, value) in metrics)
                {
                    var v = key == RecordNames.NumExamples ? new MetricRecordValue { Sint64 = (long)value } : new MetricRecordValue { Double = value };
                    record.Items.Add(new FlowerFleet.MetricRecord.Types.Item { Key = key == RecordNames.NumExamples ? NumExamplesKey : key, Value = v });
                }

                records.Add((name, Add("MetricRecord", [], record.ToByteArray())));
            }

            children.Add(Add("RecordDict", Distinct(records), JsonRefs(records)));
        }

        // The message object holds its metadata without the message id (the id is the object's own hash).
        var body = new FleetMessage { Metadata = metadata.Clone(), Error = error };
        body.Metadata.MessageId = "";
        string messageId = Add("Message", children, body.ToByteArray());
        // As Flower lists a message: its metadata, and an empty content (or the error); the content travels as objects.
        var listed = error is null ? new FleetMessage { Metadata = metadata.Clone(), Content = new FlowerFleet.RecordDict() } : new FleetMessage { Metadata = metadata.Clone(), Error = error };
        listed.Metadata.MessageId = messageId;
        return new FlowerOutgoingMessage(messageId, listed, objects, order);
    }

    /// <summary>
    /// Inflates a message a Flower SuperLink sent (the other direction: a Federate client as a SuperNode) into a Core
    /// instruction for a client app: "train", "evaluate" and "query" become Train, Evaluate and Query; the "arrays"
    /// ArrayRecord the model (named and shaped after <paramref name="template"/> when given); "config" the config,
    /// with Flower's <c>server-round</c> also as <c>server_round</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The objects are unreadable or the message type is not one of those.</exception>
    public static CoreMessage ToInstruction(string messageId, IReadOnlyDictionary<string, byte[]> objects, string runId, long nodeId, CoreArrayRecord? template)
    {
        ArgumentNullException.ThrowIfNull(objects);
        try
        {
            var message = Get(objects, messageId, "Message");
            var proto = FleetMessage.Parser.ParseFrom(message.Body.Span);
            var md = proto.Metadata ?? new Metadata();
            var type = md.MessageType switch
            {
                "train" => MessageType.Train,
                "evaluate" => MessageType.Evaluate,
                "query" => MessageType.Query,
                _ => throw new InvalidDataException($"message type '{md.MessageType}' is not one a Federate client answers (train, evaluate, query)"),
            };
            if (message.Children.Count != 1)
            {
                throw new InvalidDataException($"the message has {message.Children.Count} children (expected its RecordDict)");
            }

            var content = new CoreRecordDict();
            var dict = Get(objects, message.Children[0], "RecordDict");
            foreach (var (key, id) in ReadRefs(dict))
            {
                var record = FlowerObject.Parse(Lookup(objects, id));
                switch (record.Type)
                {
                    case "ArrayRecord":
                    {
                        var items = ReadRefs(record);
                        var tensors = items.Select(item => ReadArray(Get(objects, item.Id, "Array"), objects, item.Key)).ToList();
                        bool isModel = key == ArraysKey;
                        content.Arrays[isModel ? RecordNames.Model : key] = FlowerMapping.MatchTemplate(tensors, [.. items.Select(i => i.Key)], isModel ? template : null);
                        break;
                    }

                    case "ConfigRecord":
                        content.Configs[key] = FromProto(FlowerFleet.ConfigRecord.Parser.ParseFrom(record.Body.Span));
                        break;
                    case "MetricRecord":
                        var metrics = new CoreMetricRecord();
                        foreach (var item in FlowerFleet.MetricRecord.Parser.ParseFrom(record.Body.Span).Items)
                        {
                            if (ToDouble(item.Value) is { } value)
                            {
                                metrics[item.Key] = value;
                            }
                        }

                        content.Metrics[key] = metrics;
                        break;
                    default:
                        throw new InvalidDataException($"record '{key}' is a {record.Type}");
                }
            }

            var config = content.Configs.GetValueOrDefault(RecordNames.Config) ?? new CoreConfigRecord();
            content.Configs[RecordNames.Config] = config;
            long round = config.TryGetValue(ServerRoundKey, out var sr) ? sr.AsLong()
                : long.TryParse(md.GroupId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var g) ? g : 0;
            if (!config.ContainsKey(RecordNames.ServerRound) && round > 0)
            {
                config[RecordNames.ServerRound] = round;
            }

            var metadata = new MessageMetadata
            {
                RunId = runId,
                Round = (int)Math.Clamp(round, 0, int.MaxValue),
                MessageType = type,
                SourceNodeId = 0,
                DestinationNodeId = nodeId,
                MessageId = messageId,
            };
            return new CoreMessage(metadata, content);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"the message is unreadable: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Inflates a SuperNode's reply from the objects it pushed into the Core reply to <paramref name="instruction"/>:
    /// an error reply (one-line reason) when the ClientApp failed or the objects are unreadable. The model's tensors
    /// take the names of the instruction's model (by key when the reply uses them, otherwise in order) and must have
    /// its shapes.
    /// </summary>
    /// <param name="instruction">The instruction the SuperNode answered.</param>
    /// <param name="messageId">The reply message's object id (the root of the pushed object tree).</param>
    /// <param name="objects">Every pushed object by id.</param>
    public static CoreMessage FromReply(CoreMessage instruction, string messageId, IReadOnlyDictionary<string, byte[]> objects)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(objects);
        try
        {
            var message = Get(objects, messageId, "Message");
            var proto = FleetMessage.Parser.ParseFrom(message.Body.Span);
            if (proto.Error is { } error)
            {
                return instruction.CreateErrorReply(new MessageError("client_error", $"the SuperNode's ClientApp failed (code {error.Code}): {error.Reason}"));
            }

            if (message.Children.Count != 1)
            {
                throw new InvalidDataException($"the reply message has {message.Children.Count} children (expected its RecordDict)");
            }

            return instruction.CreateReply(ReadRecordDict(instruction, Get(objects, message.Children[0], "RecordDict"), objects));
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidProtocolBufferException or JsonException)
        {
            return instruction.CreateErrorReply(new MessageError("invalid_reply", $"the SuperNode's reply is unreadable: {ex.Message}"));
        }
    }

    /// <summary>Every object id of a pushed object tree, children before parents, each once.</summary>
    public static IReadOnlyList<string> TreeIds(ObjectTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Visit(ObjectTree node, int depth)
        {
            if (depth > 16)
            {
                throw new InvalidDataException("the object tree is deeper than 16 levels");
            }

            foreach (var child in node.Children)
            {
                Visit(child, depth + 1);
            }

            if (seen.Add(node.ObjectId))
            {
                ids.Add(node.ObjectId);
            }
        }

        Visit(tree, 0);
        return ids;
    }

    private static CoreRecordDict ReadRecordDict(CoreMessage instruction, FlowerObject dict, IReadOnlyDictionary<string, byte[]> objects)
    {
        var reply = new CoreRecordDict();
        var template = instruction.Content?.Arrays.GetValueOrDefault(RecordNames.Model);
        var refs = ReadRefs(dict);
        var arrayRecords = refs.Where(r => TypeOf(objects, r.Id) == "ArrayRecord").ToList();
        var metrics = new CoreMetricRecord();
        var textMetrics = new CoreConfigRecord();
        foreach (var (key, id) in refs)
        {
            var record = FlowerObject.Parse(Lookup(objects, id));
            switch (record.Type)
            {
                case "ArrayRecord":
                {
                    bool isModel = arrayRecords.Count == 1 || key == ArraysKey;
                    var items = ReadRefs(record);
                    var tensors = items.Select(item => ReadArray(Get(objects, item.Id, "Array"), objects, item.Key)).ToList();
                    reply.Arrays[isModel ? RecordNames.Model : key] = FlowerMapping.MatchTemplate(tensors, [.. items.Select(i => i.Key)], isModel ? template : null);
                    break;
                }

                case "MetricRecord":
                    foreach (var item in FlowerFleet.MetricRecord.Parser.ParseFrom(record.Body.Span).Items)
                    {
                        if (ToDouble(item.Value) is { } value)
                        {
                            metrics[item.Key == NumExamplesKey ? RecordNames.NumExamples : item.Key] = value;
                        }
                    }

                    break;
                case "ConfigRecord":
                {
                    var config = FromProto(FlowerFleet.ConfigRecord.Parser.ParseFrom(record.Body.Span));
                    reply.Configs[key] = config;
                    // A MetricRecord holds numbers only: a ClientApp reports strings and bytes in a ConfigRecord.
                    foreach (var (name, value) in config.Where(kv => kv.Value.Kind is ConfigValueKind.String or ConfigValueKind.Bytes))
                    {
                        textMetrics[name] = value;
                    }

                    break;
                }

                default:
                    throw new InvalidDataException($"record '{key}' is a {record.Type} (expected ArrayRecord, MetricRecord or ConfigRecord)");
            }
        }

        if (metrics.Count > 0)
        {
            reply.Metrics[RecordNames.Metrics] = metrics;
        }

        if (textMetrics.Count > 0)
        {
            reply.Configs[RecordNames.Metrics] = textMetrics;
        }

        if (instruction.Metadata.MessageType == MessageType.Train && !reply.Arrays.ContainsKey(RecordNames.Model))
        {
            throw new InvalidDataException("the train reply has no ArrayRecord");
        }

        return reply;
    }

    private static Tensor ReadArray(FlowerObject array, IReadOnlyDictionary<string, byte[]> objects, string key)
    {
        string stype;
        byte[] data;
        if (array.Children.Count > 0 || array.Body.Span.StartsWith("{"u8))
        {
            // Flower 1.20 and later: JSON metadata and the data in ArrayChunk children.
            using var json = JsonDocument.Parse(array.Body);
            stype = json.RootElement.GetProperty("stype").GetString() ?? "";
            using var buffer = new MemoryStream();
            foreach (var index in json.RootElement.GetProperty("arraychunk_ids").EnumerateArray())
            {
                int i = index.GetInt32();
                if (i < 0 || i >= array.Children.Count)
                {
                    throw new InvalidDataException($"array '{key}' names chunk {i} of {array.Children.Count}");
                }

                buffer.Write(Get(objects, array.Children[i], "ArrayChunk").Body.Span);
            }

            data = buffer.ToArray();
        }
        else
        {
            var proto = FleetArray.Parser.ParseFrom(array.Body.Span);
            stype = proto.Stype;
            data = proto.Data.ToByteArray();
        }

        if (stype != NumpyStype)
        {
            throw new InvalidDataException($"array '{key}' has stype '{stype}'; only '{NumpyStype}' (.npy) is read");
        }

        try
        {
            return Npy.Read(data);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"array '{key}': {ex.Message}", ex);
        }
    }

    private static double? ToDouble(MetricRecordValue value) => value.ValueCase switch
    {
        MetricRecordValue.ValueOneofCase.Double => value.Double,
        MetricRecordValue.ValueOneofCase.Sint64 => value.Sint64,
        MetricRecordValue.ValueOneofCase.Uint64 => value.Uint64,
        _ => null, // lists have no Federate equivalent
    };

    private static FlowerFleet.ConfigRecord ToProto(CoreConfigRecord config)
    {
        var record = new FlowerFleet.ConfigRecord();
        foreach (var (key, value) in config)
        {
            var v = value.Kind switch
            {
                ConfigValueKind.Long => new ConfigRecordValue { Sint64 = value.AsLong() },
                ConfigValueKind.Double => new ConfigRecordValue { Double = value.AsDouble() },
                ConfigValueKind.Bool => new ConfigRecordValue { Bool = value.AsBool() },
                ConfigValueKind.String => new ConfigRecordValue { String = value.AsString() },
                _ => new ConfigRecordValue { Bytes = ByteString.CopyFrom(value.AsBytes()) },
            };
            record.Items.Add(new FlowerFleet.ConfigRecord.Types.Item { Key = key, Value = v });
        }

        return record;
    }

    private static CoreConfigRecord FromProto(FlowerFleet.ConfigRecord record)
    {
        var config = new CoreConfigRecord();
        foreach (var item in record.Items)
        {
            var v = item.Value ?? new ConfigRecordValue();
            ConfigValue? value = v.ValueCase switch
            {
                ConfigRecordValue.ValueOneofCase.Double => v.Double,
                ConfigRecordValue.ValueOneofCase.Sint64 => v.Sint64,
                ConfigRecordValue.ValueOneofCase.Uint64 => v.Uint64 <= long.MaxValue ? (long)v.Uint64 : (double)v.Uint64,
                ConfigRecordValue.ValueOneofCase.Bool => v.Bool,
                ConfigRecordValue.ValueOneofCase.String => v.String,
                ConfigRecordValue.ValueOneofCase.Bytes => v.Bytes.ToByteArray(),
                _ => null, // lists have no Federate equivalent
            };
            if (value is { } set)
            {
                config[item.Key] = set;
            }
        }

        return config;
    }

    private static List<string> Distinct(List<(string Key, string Id)> refs) => [.. refs.Select(r => r.Id).Distinct(StringComparer.Ordinal)];

    private static byte[] JsonRefs(List<(string Key, string Id)> refs)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, id) in refs)
            {
                writer.WriteString(key, id);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static List<(string Key, string Id)> ReadRefs(FlowerObject record)
    {
        using var json = JsonDocument.Parse(record.Body);
        var refs = new List<(string Key, string Id)>();
        foreach (var property in json.RootElement.EnumerateObject())
        {
            string id = property.Value.GetString() ?? "";
            if (!record.Children.Contains(id, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"{record.Type} entry '{property.Name}' refers to an object that is not among its children");
            }

            refs.Add((property.Name, id));
        }

        return refs;
    }

    private static string TypeOf(IReadOnlyDictionary<string, byte[]> objects, string id) => FlowerObject.Parse(Lookup(objects, id)).Type;

    private static byte[] Lookup(IReadOnlyDictionary<string, byte[]> objects, string id) =>
        objects.TryGetValue(id, out var bytes) ? bytes : throw new InvalidDataException($"object {id} was not pushed");

    private static FlowerObject Get(IReadOnlyDictionary<string, byte[]> objects, string id, string type)
    {
        var obj = FlowerObject.Parse(Lookup(objects, id));
        return obj.Type == type ? obj : throw new InvalidDataException($"object {id} is a {obj.Type} where a {type} was expected");
    }

    /// <summary>NumPy's name of a dtype (<c>str(ndarray.dtype)</c>), as Flower's <c>Array.dtype</c> carries it.</summary>
    private static string NumpyName(DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.Int8 => "int8",
        DType.Int16 => "int16",
        DType.Int32 => "int32",
        DType.Int64 => "int64",
        DType.UInt8 => "uint8",
        DType.UInt16 => "uint16",
        DType.UInt32 => "uint32",
        DType.UInt64 => "uint64",
        DType.Bool => "bool",
        _ => throw new NotSupportedException($"dtype {dtype} has no NumPy name"),
    };
}
