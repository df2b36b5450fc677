using Federate.Core;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;

namespace Federate.Protocol;

/// <summary>Maps between Core records and the fleet API's protobuf messages.</summary>
public static class Mapping
{
    /// <summary>Core dtype to wire dtype.</summary>
    public static DataType ToProto(this DType dtype) => dtype switch
    {
        DType.Float32 => DataType.Float32,
        DType.Float64 => DataType.Float64,
        DType.Float16 => DataType.Float16,
        DType.Int8 => DataType.Int8,
        DType.Int16 => DataType.Int16,
        DType.Int32 => DataType.Int32,
        DType.Int64 => DataType.Int64,
        DType.UInt8 => DataType.Uint8,
        DType.UInt16 => DataType.Uint16,
        DType.UInt32 => DataType.Uint32,
        DType.UInt64 => DataType.Uint64,
        DType.Bool => DataType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>Wire dtype to Core dtype; false for unknown values.</summary>
    public static bool TryFromProto(DataType dataType, out DType dtype) => s_dtypes.TryGetValue(dataType, out dtype);

    private static readonly Dictionary<DataType, DType> s_dtypes = Enum.GetValues<DType>().ToDictionary(d => d.ToProto());

    /// <summary>Core message type to wire kind.</summary>
    public static MessageKind ToProto(this MessageType type) => type switch
    {
        MessageType.Train => MessageKind.Train,
        MessageType.Evaluate => MessageKind.Evaluate,
        MessageType.Query => MessageKind.Query,
        _ => MessageKind.Custom,
    };

    /// <summary>Wire kind to Core message type; false for unknown values.</summary>
    public static bool TryFromProto(MessageKind kind, out MessageType type) => s_kinds.TryGetValue(kind, out type);

    private static readonly Dictionary<MessageKind, MessageType> s_kinds = Enum.GetValues<MessageType>().ToDictionary(t => t.ToProto());

    /// <summary>Metadata to the wire.</summary>
    public static MessageHeader ToProto(this MessageMetadata m) => new()
    {
        RunId = m.RunId,
        Round = m.Round,
        Kind = m.MessageType.ToProto(),
        SourceNodeId = m.SourceNodeId,
        DestinationNodeId = m.DestinationNodeId,
        MessageId = m.MessageId,
        ReplyTo = m.ReplyTo ?? "",
        TimeToLiveMs = (long)m.TimeToLive.TotalMilliseconds,
    };

    /// <summary>Metadata from the wire; throws <see cref="InvalidDataException"/> for an unknown kind.</summary>
    public static MessageMetadata FromProto(MessageHeader h)
    {
        ArgumentNullException.ThrowIfNull(h);
        if (!TryFromProto(h.Kind, out var type))
        {
            throw new InvalidDataException($"unknown message kind {(int)h.Kind}");
        }

        return new MessageMetadata
        {
            RunId = h.RunId,
            Round = h.Round,
            MessageType = type,
            SourceNodeId = h.SourceNodeId,
            DestinationNodeId = h.DestinationNodeId,
            MessageId = h.MessageId,
            ReplyTo = h.ReplyTo.Length == 0 ? null : h.ReplyTo,
            TimeToLive = h.TimeToLiveMs > 0 ? TimeSpan.FromMilliseconds(h.TimeToLiveMs) : TimeSpan.FromHours(1),
        };
    }

    /// <summary>A config record to the wire.</summary>
    public static NamedConfigRecord ToProto(string name, ConfigRecord record)
    {
        var result = new NamedConfigRecord { Name = name };
        foreach (var (key, value) in record)
        {
            var entry = new ConfigEntry { Key = key };
            switch (value.Kind)
            {
                case ConfigValueKind.Long: entry.LongValue = value.AsLong(); break;
                case ConfigValueKind.Double: entry.DoubleValue = value.AsDouble(); break;
                case ConfigValueKind.Bool: entry.BoolValue = value.AsBool(); break;
                case ConfigValueKind.String: entry.StringValue = value.AsString(); break;
                default: entry.BytesValue = ByteString.CopyFrom(value.AsBytes()); break;
            }

            result.Entries.Add(entry);
        }

        return result;
    }

    /// <summary>A config record from the wire.</summary>
    public static ConfigRecord FromProto(NamedConfigRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var result = new ConfigRecord();
        foreach (var e in record.Entries)
        {
            result[e.Key] = e.ValueCase switch
            {
                ConfigEntry.ValueOneofCase.LongValue => e.LongValue,
                ConfigEntry.ValueOneofCase.DoubleValue => e.DoubleValue,
                ConfigEntry.ValueOneofCase.BoolValue => e.BoolValue,
                ConfigEntry.ValueOneofCase.StringValue => e.StringValue,
                ConfigEntry.ValueOneofCase.BytesValue => e.BytesValue.ToByteArray(),
                _ => throw new InvalidDataException($"config entry '{e.Key}' has no value"),
            };
        }

        return result;
    }

    /// <summary>A metric record to the wire.</summary>
    public static NamedMetricRecord ToProto(string name, MetricRecord record)
    {
        var result = new NamedMetricRecord { Name = name };
        foreach (var (key, value) in record)
        {
            result.Entries.Add(new MetricEntry { Key = key, Value = value });
        }

        return result;
    }

    /// <summary>A metric record from the wire.</summary>
    public static MetricRecord FromProto(NamedMetricRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var result = new MetricRecord();
        foreach (var e in record.Entries)
        {
            result[e.Key] = e.Value;
        }

        return result;
    }

    /// <summary>The tensors of a record dict in wire order: records in name order, tensors in record order.</summary>
    public static IReadOnlyList<(string Record, string Name, Tensor Tensor)> FlattenArrays(RecordDict content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var list = new List<(string, string, Tensor)>();
        foreach (var (recordName, record) in content.Arrays.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var (name, tensor) in record)
            {
                list.Add((recordName, name, tensor));
            }
        }

        return list;
    }

    /// <summary>The wire layout of one tensor.</summary>
    public static TensorLayout ToLayout(string record, string name, Tensor tensor)
    {
        var layout = new TensorLayout { Record = record, Name = name, Dtype = tensor.DType.ToProto() };
        layout.Shape.AddRange(tensor.Shape);
        return layout;
    }

    /// <summary>Fills the non-tensor parts of a record dict (configs, metrics) into the given wire lists.</summary>
    public static void AddRecords(RecordDict content, ICollection<NamedConfigRecord> configs, ICollection<NamedMetricRecord> metrics, ICollection<TensorLayout> tensors)
    {
        ArgumentNullException.ThrowIfNull(content);
        foreach (var (name, record) in content.Configs)
        {
            configs.Add(ToProto(name, record));
        }

        foreach (var (name, record) in content.Metrics)
        {
            metrics.Add(ToProto(name, record));
        }

        foreach (var (record, name, tensor) in FlattenArrays(content))
        {
            tensors.Add(ToLayout(record, name, tensor));
        }
    }

    /// <summary>
    /// Checks wire layouts and allocates zeroed tensors for them, grouped into array records. Returns a one-line
    /// problem (unknown dtype, negative or oversized shape, duplicate name) or null.
    /// </summary>
    public static string? TryAllocate(IReadOnlyList<TensorLayout> layouts, RecordDict into, out Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(layouts);
        ArgumentNullException.ThrowIfNull(into);
        tensors = new Tensor[layouts.Count];
        for (int i = 0; i < layouts.Count; i++)
        {
            var problem = DescribeLayout(layouts[i], out var dtype, out var shape);
            if (problem is not null)
            {
                return $"tensor {i}: {problem}";
            }

            var l = layouts[i];
            if (!into.Arrays.TryGetValue(l.Record, out var record))
            {
                record = new ArrayRecord();
                into.Arrays[l.Record] = record;
            }

            if (record.TryGetValue(l.Name, out _))
            {
                return $"tensor {i}: duplicate name '{l.Name}' in record '{l.Record}'";
            }

            tensors[i] = Tensor.Zeros(dtype, shape);
            record.Add(l.Name, tensors[i]);
        }

        return null;
    }

    /// <summary>Validates one wire layout; returns a problem or null with its dtype and shape.</summary>
    public static string? DescribeLayout(TensorLayout layout, out DType dtype, out long[] shape)
    {
        ArgumentNullException.ThrowIfNull(layout);
        shape = [.. layout.Shape];
        if (!TryFromProto(layout.Dtype, out dtype))
        {
            return $"unknown dtype {(int)layout.Dtype}";
        }

        if (layout.Name.Length == 0 || layout.Record.Length == 0)
        {
            return "tensor and record names must not be empty";
        }

        long bytes = dtype.SizeOf();
        foreach (var d in shape)
        {
            if (d < 0)
            {
                return $"negative dimension in shape [{string.Join(",", shape)}]";
            }

            if (d > 0 && bytes > int.MaxValue / d)
            {
                return $"tensor '{layout.Name}' of shape [{string.Join(",", shape)}] exceeds 2 GiB; split it into several tensors";
            }

            bytes *= d;
        }

        return null;
    }

    /// <summary>A one-line description of a wire layout (dtype and shape).</summary>
    public static string Describe(TensorLayout layout) => TryFromProto(layout.Dtype, out var d)
        ? $"{d}[{string.Join(",", layout.Shape)}]"
        : $"dtype#{(int)layout.Dtype}[{string.Join(",", layout.Shape)}]";
}
