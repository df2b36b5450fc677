using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Flower;
using Google.Protobuf;
using FlowerStatus = Federate.Protocol.Flower.Status;

namespace Federate.Protocol.Tests;

/// <summary>Flower's wire format both ways, against bytes Flower 1.19's own serializer produced (TestData/flower).</summary>
public sealed class FlowerMappingTests
{
    private static byte[] Golden(string name) => FlowerSamples.Golden(name);

    private static ArrayRecord GoldenModel() => FlowerSamples.GoldenModel();

    private static Message Instruction(MessageType type, ArrayRecord? model, ConfigRecord? config = null) => FlowerSamples.Instruction(type, model, config);

    private static ClientMessage Hostile(string kind) => FlowerSamples.Hostile(kind);

    [Fact]
    public void ToServerMessage_Train_EqualsFlowersFitInsBytes()
    {
        var message = FlowerMapping.ToServerMessage(Instruction(MessageType.Train, GoldenModel(), new ConfigRecord { [RecordNames.ServerRound] = 1 }));

        Assert.Equal(Golden("server_fit_ins.bin"), message.ToByteArray());
    }

    [Fact]
    public void ToServerMessage_QueryAndReconnect_EqualFlowersBytes()
    {
        Assert.Equal(Golden("server_get_parameters_ins.bin"), FlowerMapping.ToServerMessage(Instruction(MessageType.Query, null)).ToByteArray());
        Assert.Equal(Golden("server_reconnect_ins.bin"), FlowerMapping.Reconnect().ToByteArray());
    }

    [Fact]
    public void FromClientMessage_FlowersFitRes_GivesNamedModelAndMetrics()
    {
        var answer = ClientMessage.Parser.ParseFrom(Golden("client_fit_res.bin"));

        var reply = FlowerMapping.FromClientMessage(Instruction(MessageType.Train, GoldenModel()), answer);

        Assert.Null(reply.Error);
        var model = reply.Content!.Arrays[RecordNames.Model];
        Assert.Equal(["a", "b"], model.Names);
        Assert.Equal(new float[] { 1, 2, 3 }, model["a"].AsSpan<float>().ToArray());
        Assert.Equal(new long[] { 1, 2, 3, 4 }, model["b"].AsSpan<long>().ToArray());
        Assert.Equal(new long[] { 2, 2 }, model["b"].Shape);
        var metrics = reply.Content.Metrics[RecordNames.Metrics];
        Assert.Equal(0.5, metrics["train_mse"]);
        Assert.Equal(64, metrics[RecordNames.NumExamples]);
        Assert.Equal("r/1/x/7", reply.Metadata.ReplyTo);
    }

    [Fact]
    public void FromClientMessage_StringAndBytesMetrics_KeptInTheMetricsConfigRecord()
    {
        var fit = new ClientMessage.Types.FitRes { Status = new FlowerStatus { Code = Code.Ok }, Parameters = FlowerMapping.ToParameters(GoldenModel()), NumExamples = 5 };
        fit.Metrics["device"] = new Scalar { String = "cuda:0" };
        fit.Metrics["digest"] = new Scalar { Bytes = ByteString.CopyFrom(1, 2) };
        fit.Metrics["acc"] = new Scalar { Double = 0.5 };

        var reply = FlowerMapping.FromClientMessage(Instruction(MessageType.Train, GoldenModel()), new ClientMessage { FitRes = fit });

        var text = reply.Content!.Configs[RecordNames.Metrics];
        Assert.Equal("cuda:0", text["device"].AsString());
        Assert.Equal(new byte[] { 1, 2 }, text["digest"].AsBytes());
        Assert.False(text.ContainsKey("acc"));
        Assert.Equal(0.5, reply.Content.Metrics[RecordNames.Metrics]["acc"]);
        Assert.False(reply.Content.Metrics[RecordNames.Metrics].ContainsKey("device"));
    }

    [Fact]
    public void FromClientMessage_FlowersEvaluateRes_GivesLossAndMetrics()
    {
        var answer = ClientMessage.Parser.ParseFrom(Golden("client_evaluate_res.bin"));

        var reply = FlowerMapping.FromClientMessage(Instruction(MessageType.Evaluate, GoldenModel()), answer);

        var metrics = reply.Content!.Metrics[RecordNames.Metrics];
        Assert.Equal(0.25, metrics["loss"]);
        Assert.Equal(0.25, metrics["mse"]);
        Assert.Equal(64, metrics[RecordNames.NumExamples]);
    }

    [Fact]
    public void ToClientMessage_FitReply_EqualsFlowersFitResBytes()
    {
        var request = ServerMessage.Parser.ParseFrom(Golden("server_fit_ins.bin"));
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = GoldenModel();
        content.Metrics[RecordNames.Metrics] = new MetricRecord { ["train_mse"] = 0.5, [RecordNames.NumExamples] = 64 };
        var reply = Instruction(MessageType.Train, null).CreateReply(content);

        Assert.Equal(Golden("client_fit_res.bin"), FlowerMapping.ToClientMessage(request, reply).ToByteArray());
    }

    [Fact]
    public void ToClientMessage_EvaluateReply_EqualsFlowersEvaluateResBytes()
    {
        var request = new ServerMessage { EvaluateIns = new ServerMessage.Types.EvaluateIns() };
        var content = new RecordDict();
        content.Metrics[RecordNames.Metrics] = new MetricRecord { ["loss"] = 0.25, ["mse"] = 0.25, [RecordNames.NumExamples] = 64 };
        var reply = Instruction(MessageType.Evaluate, null).CreateReply(content);

        Assert.Equal(Golden("client_evaluate_res.bin"), FlowerMapping.ToClientMessage(request, reply).ToByteArray());
    }

    [Fact]
    public void ToInstruction_FlowersFitIns_GivesTrainMessageWithRoundAndTemplateNames()
    {
        var request = ServerMessage.Parser.ParseFrom(Golden("server_fit_ins.bin"));

        var instruction = FlowerMapping.ToInstruction(request, "run", 0, 1, fallbackRound: 9, template: GoldenModel())!;

        Assert.Equal(MessageType.Train, instruction.Metadata.MessageType);
        Assert.Equal(1, instruction.Metadata.Round);
        Assert.Equal(1, instruction.Content!.Configs[RecordNames.Config].GetLong(RecordNames.ServerRound, 0));
        Assert.Equal(["a", "b"], instruction.Content.Arrays[RecordNames.Model].Names);
    }

    [Fact]
    public void ToInstruction_NoServerRound_UsesFallbackRoundAndIndexNames()
    {
        var request = new ServerMessage { FitIns = new ServerMessage.Types.FitIns { Parameters = FlowerMapping.ToParameters(GoldenModel()) } };

        var instruction = FlowerMapping.ToInstruction(request, "run", 0, 1, fallbackRound: 3)!;

        Assert.Equal(3, instruction.Metadata.Round);
        Assert.Equal(["0", "1"], instruction.Content!.Arrays[RecordNames.Model].Names);
    }

    [Fact]
    public void ToInstruction_EmptyScalarInConfig_IsRefusedWithTheKey()
    {
        var request = new ServerMessage { FitIns = new ServerMessage.Types.FitIns { Parameters = FlowerMapping.ToParameters(GoldenModel()) } };
        request.FitIns.Config["lr"] = new Scalar();

        var ex = Assert.Throws<InvalidDataException>(() => FlowerMapping.ToInstruction(request, "run", 0, 1));

        Assert.Equal("the value of 'lr' is an empty Scalar (no double, sint64, uint64, bool, string or bytes set)", ex.Message);
    }

    [Fact]
    public async Task GetPropertiesAndGetParameters_ThroughAClientApp_AnswerOk()
    {
        var app = new PropertiesClient().ToClientApp();
        var properties = new ServerMessage { GetPropertiesIns = new ServerMessage.Types.GetPropertiesIns() };
        var parameters = ServerMessage.Parser.ParseFrom(Golden("server_get_parameters_ins.bin"));

        var propertiesAnswer = FlowerMapping.ToClientMessage(properties, await app.HandleAsync(FlowerMapping.ToInstruction(properties, "run", 0, 1)!, CancellationToken.None));
        var parametersAnswer = FlowerMapping.ToClientMessage(parameters, await app.HandleAsync(FlowerMapping.ToInstruction(parameters, "run", 0, 2)!, CancellationToken.None));

        Assert.Equal(Code.Ok, propertiesAnswer.GetPropertiesRes.Status.Code);
        Assert.Equal("dotnet", propertiesAnswer.GetPropertiesRes.Properties["runtime"].String);
        Assert.Equal(4, propertiesAnswer.GetPropertiesRes.Properties["cores"].Sint64);
        Assert.Equal(Code.Ok, parametersAnswer.GetParametersRes.Status.Code);
        Assert.Equal(Golden("tensor0_f32_3.npy"), parametersAnswer.GetParametersRes.Parameters.Tensors[0].ToByteArray());
        Assert.Equal(Golden("tensor1_i64_2x2.npy"), parametersAnswer.GetParametersRes.Parameters.Tensors[1].ToByteArray());
        Assert.Equal("numpy.ndarray", parametersAnswer.GetParametersRes.Parameters.TensorType);
    }

    private sealed class PropertiesClient : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => GoldenModel();

        public override ConfigRecord GetProperties(ConfigRecord config) => new() { ["runtime"] = "dotnet", ["cores"] = 4 };

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public void ToInstruction_ReconnectOrEmpty_IsNull()
    {
        Assert.Null(FlowerMapping.ToInstruction(FlowerMapping.Reconnect(), "run", 0, 1));
        Assert.Null(FlowerMapping.ToInstruction(new ServerMessage(), "run", 0, 1));
    }

    [Fact]
    public void ToClientMessage_ErrorReply_IsNotImplementedStatusWithReason()
    {
        var request = new ServerMessage { FitIns = new ServerMessage.Types.FitIns() };
        var reply = Instruction(MessageType.Train, null).CreateErrorReply(new MessageError("client_error", "no data"));

        var answer = FlowerMapping.ToClientMessage(request, reply);

        Assert.Equal(Code.FitNotImplemented, answer.FitRes.Status.Code);
        Assert.Equal("client_error: no data", answer.FitRes.Status.Message);
    }

    [Fact]
    public void Scalars_IntegersAndNumbers_UseFlowersTypes()
    {
        Assert.Equal(Scalar.ScalarOneofCase.Sint64, FlowerMapping.ToScalar(5L).ScalarCase);
        Assert.Equal(Scalar.ScalarOneofCase.Double, FlowerMapping.ToScalar((ConfigValue)0.5).ScalarCase);
        Assert.Equal(5L, FlowerMapping.FromScalar("k", new Scalar { Uint64 = 5 }).AsLong());
        Assert.Equal(ConfigValueKind.Double, FlowerMapping.FromScalar("k", new Scalar { Uint64 = ulong.MaxValue }).Kind);
    }

    public static TheoryData<string, string> HostileAnswers => new()
    {
        { "no-oneof", "the Flower client sent a ClientMessage with no message set (expected fit_res)" },
        { "empty-scalar", "the Flower client's fit_res is unreadable: the value of 'x' is an empty Scalar (no double, sint64, uint64, bool, string or bytes set)" },
        { "not-npy", "the Flower client's fit_res is unreadable: tensor 0: not a .npy file (it does not start with \\x93NUMPY)" },
        { "pickled", "the Flower client's fit_res is unreadable: tensor 0: the .npy array holds Python objects (pickled); send numeric arrays (allow_pickle is refused)" },
        { "wrong-shape", "the Flower client's fit_res is unreadable: tensor 0 ('a') has shape (2,) but the model's is (3,)" },
        { "wrong-kind", "the Flower client answered fit_ins with evaluate_res" },
        { "not-ok", "the Flower client answered with status FitNotImplemented: fit is not implemented" },
    };

    [Theory]
    [MemberData(nameof(HostileAnswers))]
    public void FromClientMessage_HostileAnswer_IsErrorReplyWithReason(string kind, string reason)
    {
        var reply = FlowerMapping.FromClientMessage(Instruction(MessageType.Train, GoldenModel()), Hostile(kind));

        Assert.Null(reply.Content);
        Assert.Equal(reason, reply.Error!.Reason);
    }
}
