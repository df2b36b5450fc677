using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Flower;
using Google.Protobuf;

namespace Federate.Protocol.Tests;

/// <summary>
/// Flower wire samples shared by the protocol and server tests (this file is linked into Federate.Server.Tests):
/// golden bytes from Flower 1.19's own serializer (TestData/flower), a model, instructions and hostile answers.
/// </summary>
internal static class FlowerSamples
{
    public static byte[] Golden(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "flower", name));

    public static ArrayRecord GoldenModel() => new()
    {
        { "a", Tensor.FromArray(new float[] { 1, 2, 3 }, 3) },
        { "b", Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 2, 2) },
    };

    public static Message Instruction(MessageType type, ArrayRecord? model, ConfigRecord? config = null)
    {
        var content = new RecordDict();
        if (model is not null)
        {
            content.Arrays[RecordNames.Model] = model;
        }

        content.Configs[RecordNames.Config] = config ?? new ConfigRecord();
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = type, DestinationNodeId = 7, MessageId = "r/1/x/7" }, content);
    }

    /// <summary>A bad answer to a fit_ins for <see cref="GoldenModel"/>.</summary>
    public static ClientMessage Hostile(string kind)
    {
        var good = FlowerMapping.ToParameters(GoldenModel());
        ClientMessage Fit(Parameters parameters, Action<ClientMessage.Types.FitRes>? edit = null)
        {
            var fit = new ClientMessage.Types.FitRes { Status = new Protocol.Flower.Status(), Parameters = parameters, NumExamples = 10 };
            edit?.Invoke(fit);
            return new ClientMessage { FitRes = fit };
        }

        Parameters With(ByteString first)
        {
            var p = good.Clone();
            p.Tensors[0] = first;
            return p;
        }

        return kind switch
        {
            "no-oneof" => new ClientMessage(),
            "empty-scalar" => Fit(good, f => f.Metrics["x"] = new Scalar()),
            "not-npy" => Fit(With(ByteString.CopyFromUtf8("hello"))),
            "pickled" => Fit(With(ByteString.CopyFrom(Golden("pickled_object.npy")))),
            "wrong-shape" => Fit(With(ByteString.CopyFrom(Npy.Write(Tensor.FromArray(new float[] { 1, 2 }, 2))))),
            "wrong-kind" => new ClientMessage { EvaluateRes = new ClientMessage.Types.EvaluateRes { Loss = 1, NumExamples = 1 } },
            "not-ok" => Fit(good, f => f.Status = new Protocol.Flower.Status { Code = Code.FitNotImplemented, Message = "fit is not implemented" }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }
}
