using Federate.Core;
using Federate.Protocol.Flower;
using Google.Protobuf;
using FlowerStatus = Federate.Protocol.Flower.Status;

namespace Federate.Protocol;

/// <summary>
/// Maps between Core messages and Flower's legacy transport (<c>proto/transport.proto</c>, package <c>flwr.proto</c>):
/// train is <c>fit</c>, evaluate is <c>evaluate</c>, a query is <c>get_parameters</c> (or <c>get_properties</c>).
/// Tensors travel as <c>.npy</c> files in order, without names: a reply's tensors take the names of the instruction's
/// model in the same order (count and shape must match), or "0", "1", ... when there is no model to follow.
/// </summary>
public static class FlowerMapping
{
    /// <summary>The <c>tensor_type</c> Flower sets on parameters made of <c>.npy</c> files.</summary>
    public const string TensorType = "numpy.ndarray";

    /// <summary>The gRPC method path of the stream.</summary>
    public const string JoinMethod = "/flwr.proto.FlowerService/Join";

    /// <summary>Largest gRPC message Flower peers send or accept since Flower 1.16 (2 GiB - 1).</summary>
    public const int MaxMessageSize = int.MaxValue;

    /// <summary>A config value as Flower's <c>Scalar</c>: integers as sint64, numbers as double.</summary>
    public static Scalar ToScalar(ConfigValue value) => value.Kind switch
    {
        ConfigValueKind.Long => new Scalar { Sint64 = value.AsLong() },
        ConfigValueKind.Double => new Scalar { Double = value.AsDouble() },
        ConfigValueKind.Bool => new Scalar { Bool = value.AsBool() },
        ConfigValueKind.String => new Scalar { String = value.AsString() },
        ConfigValueKind.Bytes => new Scalar { Bytes = ByteString.CopyFrom(value.AsBytes()) },
        _ => throw new ArgumentOutOfRangeException(nameof(value), value.Kind, "Unknown config value kind."),
    };

    /// <summary>A metric as Flower's <c>Scalar</c> (a double).</summary>
    public static Scalar ToMetricScalar(double metric) => new() { Double = metric };

    /// <summary>
    /// A Flower <c>Scalar</c> as a config value. A uint64 within the int64 range becomes an integer, a larger one a
    /// double (Federate's config has no unsigned integers).
    /// </summary>
    /// <exception cref="InvalidDataException">The scalar has no value set.</exception>
    public static ConfigValue FromScalar(string key, Scalar scalar)
    {
        ArgumentNullException.ThrowIfNull(scalar);
        return scalar.ScalarCase switch
        {
            Scalar.ScalarOneofCase.Double => scalar.Double,
            Scalar.ScalarOneofCase.Sint64 => scalar.Sint64,
            Scalar.ScalarOneofCase.Uint64 => scalar.Uint64 <= long.MaxValue ? (long)scalar.Uint64 : (double)scalar.Uint64,
            Scalar.ScalarOneofCase.Bool => scalar.Bool,
            Scalar.ScalarOneofCase.String => scalar.String,
            Scalar.ScalarOneofCase.Bytes => scalar.Bytes.ToByteArray(),
            _ => throw new InvalidDataException($"the value of '{key}' is an empty Scalar (no double, sint64, uint64, bool, string or bytes set)"),
        };
    }

    /// <summary>Flower's config map from a config record.</summary>
    public static void AddConfig(Google.Protobuf.Collections.MapField<string, Scalar> target, ConfigRecord? config)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (config is null)
        {
            return;
        }

        foreach (var (key, value) in config)
        {
            target[key] = ToScalar(value);
        }
    }

    /// <summary>A config record from Flower's config map.</summary>
    public static ConfigRecord ToConfig(IEnumerable<KeyValuePair<string, Scalar>> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var config = new ConfigRecord();
        foreach (var (key, value) in map)
        {
            config[key] = FromScalar(key, value);
        }

        return config;
    }

    /// <summary>
    /// The metrics of Flower's metric map that are strings or bytes, which a reply carries in its ConfigRecord
    /// <see cref="RecordNames.Metrics"/> (the history keeps each node's value).
    /// </summary>
    public static ConfigRecord ToTextMetrics(IEnumerable<KeyValuePair<string, Scalar>> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var values = new ConfigRecord();
        foreach (var (key, scalar) in map)
        {
            if (scalar.ScalarCase is Scalar.ScalarOneofCase.String or Scalar.ScalarOneofCase.Bytes)
            {
                values[key] = FromScalar(key, scalar);
            }
        }

        return values;
    }

    /// <summary>
    /// Metrics from Flower's metric map: numbers and booleans become doubles; strings and bytes are skipped here (a
    /// Federate metric is a number) and read by <see cref="ToTextMetrics"/>.
    /// </summary>
    public static MetricRecord ToMetrics(IEnumerable<KeyValuePair<string, Scalar>> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var metrics = new MetricRecord();
        foreach (var (key, scalar) in map)
        {
            var value = FromScalar(key, scalar);
            if (value.Kind is ConfigValueKind.Long or ConfigValueKind.Double)
            {
                metrics[key] = value.AsDouble();
            }
            else if (value.Kind == ConfigValueKind.Bool)
            {
                metrics[key] = value.AsBool() ? 1 : 0;
            }
        }

        return metrics;
    }

    /// <summary>A model as Flower's parameters: one <c>.npy</c> file per tensor, in record order.</summary>
    public static Parameters ToParameters(ArrayRecord? model)
    {
        var parameters = new Parameters { TensorType = TensorType };
        if (model is not null)
        {
            foreach (var (_, tensor) in model)
            {
                parameters.Tensors.Add(UnsafeByteOperations.UnsafeWrap(Npy.Write(tensor)));
            }
        }

        return parameters;
    }

    /// <summary>
    /// Reads Flower's parameters. With a <paramref name="template"/> (the model the instruction carried), the tensors
    /// take its names in order and must have its shapes; a floating-point tensor of another float dtype is cast to the
    /// template's dtype (NumPy clients often answer float64 to a float32 model). Without one they are named "0", "1", ...
    /// </summary>
    /// <exception cref="InvalidDataException">A tensor is not a readable <c>.npy</c> file or does not fit the template.</exception>
    public static ArrayRecord FromParameters(Parameters parameters, ArrayRecord? template)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.TensorType.Length > 0 && parameters.TensorType != TensorType)
        {
            throw new InvalidDataException($"parameters have tensor_type '{parameters.TensorType}'; only '{TensorType}' (.npy) is read");
        }

        var tensors = new List<Tensor>(parameters.Tensors.Count);
        for (int i = 0; i < parameters.Tensors.Count; i++)
        {
            try
            {
                tensors.Add(Npy.Read(parameters.Tensors[i].Span));
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"tensor {i}: {ex.Message}", ex);
            }
        }

        return MatchTemplate(tensors, null, template);
    }

    /// <summary>
    /// Names received tensors after the model the instruction carried: by <paramref name="keys"/> when they are the
    /// template's names, otherwise in order; each must have the template's shape, and a floating-point tensor of
    /// another float dtype is cast to the template's dtype. Without a template the tensors keep their keys, or are
    /// named "0", "1", ...
    /// </summary>
    /// <exception cref="InvalidDataException">The count, a shape or a dtype does not fit the template.</exception>
    internal static ArrayRecord MatchTemplate(IReadOnlyList<Tensor> tensors, IReadOnlyList<string>? keys, ArrayRecord? template)
    {
        if (template is not null && template.Count != tensors.Count)
        {
            throw new InvalidDataException($"the reply has {tensors.Count} tensors but the model has {template.Count}");
        }

        bool byKey = template is not null && keys is not null && keys.Count == template.Count && keys.All(template.ContainsKey) && keys.Distinct(StringComparer.Ordinal).Count() == keys.Count;
        var record = new ArrayRecord();
        for (int i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            string name = keys?[i] ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (template is not null)
            {
                name = byKey ? keys![i] : template.Names[i];
                var expected = template[name];
                if (!expected.Shape.SequenceEqual(tensor.Shape))
                {
                    throw new InvalidDataException($"tensor {i} ('{name}') has shape {ShapeText(tensor.Shape)} but the model's is {ShapeText(expected.Shape)}");
                }

                if (tensor.DType != expected.DType)
                {
                    tensor = tensor.DType.IsFloatingPoint() && expected.DType.IsFloatingPoint()
                        ? CastFloat(tensor, expected.DType)
                        : throw new InvalidDataException($"tensor {i} ('{name}') has dtype {tensor.DType} but the model's is {expected.DType}");
                }
            }

            record.Add(name, tensor);
        }

        if (byKey)
        {
            // Keep the model's order, whatever order the reply used.
            record = new ArrayRecord(template!.Names.Select(n => new KeyValuePair<string, Tensor>(n, record[n])));
        }

        return record;
    }

    /// <summary>A server instruction as Flower's <c>ServerMessage</c>: fit, evaluate or get_parameters.</summary>
    /// <exception cref="NotSupportedException">The instruction has a kind Flower has no message for.</exception>
    public static ServerMessage ToServerMessage(Message instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        var content = instruction.Content ?? new RecordDict();
        var model = content.Arrays.GetValueOrDefault(RecordNames.Model);
        var config = content.Configs.GetValueOrDefault(RecordNames.Config);
        switch (instruction.Metadata.MessageType)
        {
            case MessageType.Train:
            {
                var fit = new ServerMessage.Types.FitIns { Parameters = ToParameters(model) };
                AddConfig(fit.Config, config);
                return new ServerMessage { FitIns = fit };
            }

            case MessageType.Evaluate:
            {
                var evaluate = new ServerMessage.Types.EvaluateIns { Parameters = ToParameters(model) };
                AddConfig(evaluate.Config, config);
                return new ServerMessage { EvaluateIns = evaluate };
            }

            case MessageType.Query when content.Configs.ContainsKey(PropertiesQuery):
            {
                var properties = new ServerMessage.Types.GetPropertiesIns();
                AddConfig(properties.Config, config);
                return new ServerMessage { GetPropertiesIns = properties };
            }

            case MessageType.Query:
            {
                var get = new ServerMessage.Types.GetParametersIns();
                AddConfig(get.Config, config);
                return new ServerMessage { GetParametersIns = get };
            }

            default:
                throw new NotSupportedException($"Flower clients cannot answer {instruction.Metadata.MessageType} messages");
        }
    }

    /// <summary>Name of the (empty) config record that marks a query as get_properties rather than get_parameters.</summary>
    public const string PropertiesQuery = "flower.get_properties";

    /// <summary>The end of training for a Flower client: <c>reconnect_ins {}</c> with seconds 0 (bytes <c>0a 00</c>).</summary>
    public static ServerMessage Reconnect() => new() { ReconnectIns = new ServerMessage.Types.ReconnectIns() };

    /// <summary>
    /// Turns a Flower client's answer into the reply to <paramref name="instruction"/>: an error reply (one-line
    /// reason) when the answer is of the wrong kind, has a non-OK status, or carries unreadable tensors or scalars.
    /// </summary>
    public static Message FromClientMessage(Message instruction, ClientMessage answer)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(answer);
        var expected = Expected(instruction);
        if (answer.MsgCase == ClientMessage.MsgOneofCase.None)
        {
            return Fail(instruction, "invalid_reply", $"the Flower client sent a ClientMessage with no message set (expected {Name(expected)})");
        }

        if (answer.MsgCase != expected)
        {
            return Fail(instruction, "invalid_reply", $"the Flower client answered {Name(expected).Replace("_res", "_ins", StringComparison.Ordinal)} with {Name(answer.MsgCase)}");
        }

        var status = answer.MsgCase switch
        {
            ClientMessage.MsgOneofCase.FitRes => answer.FitRes.Status,
            ClientMessage.MsgOneofCase.EvaluateRes => answer.EvaluateRes.Status,
            ClientMessage.MsgOneofCase.GetParametersRes => answer.GetParametersRes.Status,
            ClientMessage.MsgOneofCase.GetPropertiesRes => answer.GetPropertiesRes.Status,
            _ => null,
        };
        if (NotOk(status) is { } problem)
        {
            return Fail(instruction, "client_error", problem);
        }

        var model = instruction.Content?.Arrays.GetValueOrDefault(RecordNames.Model);
        var reply = new RecordDict();
        try
        {
            switch (answer.MsgCase)
            {
                case ClientMessage.MsgOneofCase.FitRes:
                {
                    var fit = answer.FitRes;
                    reply.Arrays[RecordNames.Model] = FromParameters(fit.Parameters ?? new Parameters(), model);
                    var metrics = ToMetrics(fit.Metrics);
                    metrics[RecordNames.NumExamples] = fit.NumExamples;
                    reply.Metrics[RecordNames.Metrics] = metrics;
                    AddTextMetrics(reply, fit.Metrics);
                    break;
                }

                case ClientMessage.MsgOneofCase.EvaluateRes:
                {
                    var evaluate = answer.EvaluateRes;
                    var metrics = new MetricRecord { ["loss"] = evaluate.Loss };
                    foreach (var (k, v) in ToMetrics(evaluate.Metrics))
                    {
                        metrics[k] = v;
                    }

                    metrics[RecordNames.NumExamples] = evaluate.NumExamples;
                    reply.Metrics[RecordNames.Metrics] = metrics;
                    AddTextMetrics(reply, evaluate.Metrics);
                    break;
                }

                case ClientMessage.MsgOneofCase.GetParametersRes:
                {
                    reply.Arrays[RecordNames.Model] = FromParameters(answer.GetParametersRes.Parameters ?? new Parameters(), model);
                    break;
                }

                case ClientMessage.MsgOneofCase.GetPropertiesRes:
                {
                    reply.Configs["properties"] = ToConfig(answer.GetPropertiesRes.Properties);
                    break;
                }
            }
        }
        catch (InvalidDataException ex)
        {
            return Fail(instruction, "invalid_reply", $"the Flower client's {Name(answer.MsgCase)} is unreadable: {ex.Message}");
        }

        return instruction.CreateReply(reply);
    }

    /// <summary>
    /// Turns a Flower server's instruction into a Core message for a client app. A reconnect or an empty message
    /// has no Core equivalent and yields null. Flower's strategies send no <c>server_round</c> unless configured to;
    /// then <paramref name="fallbackRound"/> is put in the config (the client's count of fit instructions), so
    /// per-round seeds still differ between rounds.
    /// </summary>
    /// <exception cref="InvalidDataException">The instruction carries unreadable tensors or scalars.</exception>
    /// <remarks>
    /// With a <paramref name="template"/> (the client's own model), received tensors take its names and must have its
    /// shapes, as on the server side; without one they are named "0", "1", ...
    /// </remarks>
    public static Message? ToInstruction(ServerMessage message, string runId, long nodeId, int sequence, int fallbackRound = 0, ArrayRecord? template = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var content = new RecordDict();
        MessageType type;
        ConfigRecord config;
        switch (message.MsgCase)
        {
            case ServerMessage.MsgOneofCase.FitIns:
                type = MessageType.Train;
                content.Arrays[RecordNames.Model] = FromParameters(message.FitIns.Parameters ?? new Parameters(), template);
                config = ToConfig(message.FitIns.Config);
                break;
            case ServerMessage.MsgOneofCase.EvaluateIns:
                type = MessageType.Evaluate;
                content.Arrays[RecordNames.Model] = FromParameters(message.EvaluateIns.Parameters ?? new Parameters(), template);
                config = ToConfig(message.EvaluateIns.Config);
                break;
            case ServerMessage.MsgOneofCase.GetParametersIns:
                type = MessageType.Query;
                config = ToConfig(message.GetParametersIns.Config);
                break;
            case ServerMessage.MsgOneofCase.GetPropertiesIns:
                type = MessageType.Query;
                config = ToConfig(message.GetPropertiesIns.Config);
                content.Configs[PropertiesQuery] = new ConfigRecord();
                break;
            default:
                return null;
        }

        if (!config.ContainsKey(RecordNames.ServerRound) && fallbackRound > 0)
        {
            config[RecordNames.ServerRound] = fallbackRound;
        }

        content.Configs[RecordNames.Config] = config;
        var metadata = new MessageMetadata
        {
            RunId = runId,
            Round = (int)Math.Clamp(config.GetLong(RecordNames.ServerRound, 0), 0, int.MaxValue),
            MessageType = type,
            SourceNodeId = 0,
            DestinationNodeId = nodeId,
            MessageId = $"{runId}/flower/{sequence}",
        };
        return new Message(metadata, content);
    }

    /// <summary>
    /// A client app's reply as Flower's <c>ClientMessage</c> answering <paramref name="request"/>. An error reply
    /// becomes a non-OK status: Flower's codes only say "not implemented", so the reason goes in the status message.
    /// Tensors keep their own dtype and shape.
    /// </summary>
    public static ClientMessage ToClientMessage(ServerMessage request, Message reply)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reply);
        var status = reply.Error is { } error
            ? new FlowerStatus { Code = NotImplementedCode(request.MsgCase), Message = $"{error.Code}: {error.Reason}" }
            : new FlowerStatus { Code = Code.Ok, Message = "Success" };
        var content = reply.Content ?? new RecordDict();
        var model = content.Arrays.GetValueOrDefault(RecordNames.Model);
        var metrics = content.Metrics.GetValueOrDefault(RecordNames.Metrics) ?? new MetricRecord();
        long numExamples = metrics.TryGetValue(RecordNames.NumExamples, out var n) ? (long)n : 0;
        switch (request.MsgCase)
        {
            case ServerMessage.MsgOneofCase.FitIns:
            {
                var fit = new ClientMessage.Types.FitRes { Status = status, Parameters = ToParameters(model), NumExamples = numExamples };
                AddMetrics(fit.Metrics, metrics, "num_examples");
                return new ClientMessage { FitRes = fit };
            }

            case ServerMessage.MsgOneofCase.EvaluateIns:
            {
                var evaluate = new ClientMessage.Types.EvaluateRes
                {
                    Status = status,
                    Loss = metrics.TryGetValue("loss", out var loss) ? (float)loss : 0f,
                    NumExamples = numExamples,
                };
                AddMetrics(evaluate.Metrics, metrics, "num_examples", "loss");
                return new ClientMessage { EvaluateRes = evaluate };
            }

            case ServerMessage.MsgOneofCase.GetParametersIns:
                return new ClientMessage { GetParametersRes = new ClientMessage.Types.GetParametersRes { Status = status, Parameters = ToParameters(model) } };
            case ServerMessage.MsgOneofCase.GetPropertiesIns:
            {
                var properties = new ClientMessage.Types.GetPropertiesRes { Status = status };
                AddConfig(properties.Properties, content.Configs.GetValueOrDefault("properties"));
                return new ClientMessage { GetPropertiesRes = properties };
            }

            default:
                throw new ArgumentException($"a {request.MsgCase} instruction has no reply", nameof(request));
        }
    }

    private static void AddTextMetrics(RecordDict reply, IEnumerable<KeyValuePair<string, Scalar>> map)
    {
        if (ToTextMetrics(map) is { Count: > 0 } values)
        {
            reply.Configs[RecordNames.Metrics] = values;
        }
    }

    private static void AddMetrics(Google.Protobuf.Collections.MapField<string, Scalar> target, MetricRecord metrics, params string[] skip)
    {
        foreach (var (key, value) in metrics)
        {
            if (!skip.Contains(key))
            {
                target[key] = ToMetricScalar(value);
            }
        }
    }

    private static Code NotImplementedCode(ServerMessage.MsgOneofCase request) => request switch
    {
        ServerMessage.MsgOneofCase.GetPropertiesIns => Code.GetPropertiesNotImplemented,
        ServerMessage.MsgOneofCase.GetParametersIns => Code.GetParametersNotImplemented,
        ServerMessage.MsgOneofCase.FitIns => Code.FitNotImplemented,
        _ => Code.EvaluateNotImplemented,
    };

    private static ClientMessage.MsgOneofCase Expected(Message instruction) => instruction.Metadata.MessageType switch
    {
        MessageType.Train => ClientMessage.MsgOneofCase.FitRes,
        MessageType.Evaluate => ClientMessage.MsgOneofCase.EvaluateRes,
        MessageType.Query when instruction.Content?.Configs.ContainsKey(PropertiesQuery) == true => ClientMessage.MsgOneofCase.GetPropertiesRes,
        _ => ClientMessage.MsgOneofCase.GetParametersRes,
    };

    private static string? NotOk(FlowerStatus? status) =>
        status is null || status.Code == Code.Ok ? null : $"the Flower client answered with status {status.Code}: {status.Message}";

    private static Message Fail(Message instruction, string code, string reason) => instruction.CreateErrorReply(new MessageError(code, reason));

    private static string Name(ClientMessage.MsgOneofCase kind) => kind switch
    {
        ClientMessage.MsgOneofCase.DisconnectRes => "disconnect_res",
        ClientMessage.MsgOneofCase.GetPropertiesRes => "get_properties_res",
        ClientMessage.MsgOneofCase.GetParametersRes => "get_parameters_res",
        ClientMessage.MsgOneofCase.FitRes => "fit_res",
        ClientMessage.MsgOneofCase.EvaluateRes => "evaluate_res",
        _ => "nothing",
    };

    private static string ShapeText(IReadOnlyList<long> shape) => "(" + string.Join(", ", shape) + (shape.Count == 1 ? ",)" : ")");

    private static Tensor CastFloat(Tensor tensor, DType dtype)
    {
        var target = Tensor.Zeros(dtype, [.. tensor.Shape]);
        int n = (int)tensor.Length;
        for (int i = 0; i < n; i++)
        {
            double v = tensor.DType switch
            {
                DType.Float16 => (double)tensor.AsSpan<Half>()[i],
                DType.Float32 => tensor.AsSpan<float>()[i],
                _ => tensor.AsSpan<double>()[i],
            };
            switch (dtype)
            {
                case DType.Float16: target.AsSpan<Half>()[i] = (Half)v; break;
                case DType.Float32: target.AsSpan<float>()[i] = (float)v; break;
                default: target.AsSpan<double>()[i] = v; break;
            }
        }

        return target;
    }
}
