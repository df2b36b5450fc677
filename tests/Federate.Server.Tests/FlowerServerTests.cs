using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Flower;
using Federate.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Tests;

/// <summary>
/// A Federate server's Flower port over real gRPC on 127.0.0.1, with stand-in Flower clients written against the
/// generated stubs (they answer like Flower's NumPyClient: one ClientMessage per ServerMessage).
/// </summary>
public sealed class FlowerServerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A stand-in Flower client: fit returns the received tensors plus <paramref name="step"/>, 10 examples; evaluate
    /// returns loss = first element of the first tensor. <paramref name="firstFit"/> replaces the first fit answer.
    /// Returns the messages received, ending with "reconnect".
    /// </summary>
    private static async Task<List<string>> RunStandInAsync(int port, float step, ClientMessage? firstFit = null, Task? beforeFirstFit = null, TaskCompletionSource? afterFirstFit = null)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new FlowerService.FlowerServiceClient(channel);
        using var call = client.Join();
        var seen = new List<string>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var message = call.ResponseStream.Current;
            switch (message.MsgCase)
            {
                case ServerMessage.MsgOneofCase.FitIns:
                {
                    seen.Add("fit");
                    if (firstFit is not null)
                    {
                        await call.RequestStream.WriteAsync(firstFit);
                        firstFit = null;
                        break;
                    }

                    var parameters = new Parameters { TensorType = FlowerMapping.TensorType };
                    foreach (var bytes in message.FitIns.Parameters.Tensors)
                    {
                        var t = Npy.Read(bytes.Span);
                        var values = t.AsSpan<float>().ToArray().Select(v => v + step).ToArray();
                        parameters.Tensors.Add(Google.Protobuf.ByteString.CopyFrom(Npy.Write(Tensor.FromArray(values, [.. t.Shape]))));
                    }

                    var fit = new ClientMessage.Types.FitRes { Status = new Protocol.Flower.Status { Message = "Success" }, Parameters = parameters, NumExamples = 10 };
                    fit.Metrics["train_loss"] = new Scalar { Double = step };
                    if (beforeFirstFit is not null)
                    {
                        await beforeFirstFit.WaitAsync(Limit);
                        beforeFirstFit = null;
                    }

                    await call.RequestStream.WriteAsync(new ClientMessage { FitRes = fit });
                    afterFirstFit?.TrySetResult();
                    break;
                }

                case ServerMessage.MsgOneofCase.EvaluateIns:
                {
                    seen.Add("evaluate");
                    var first = Npy.Read(message.EvaluateIns.Parameters.Tensors[0].Span).AsSpan<float>()[0];
                    await call.RequestStream.WriteAsync(new ClientMessage { EvaluateRes = new ClientMessage.Types.EvaluateRes { Status = new Protocol.Flower.Status(), Loss = first, NumExamples = 10 } });
                    break;
                }

                case ServerMessage.MsgOneofCase.ReconnectIns:
                    seen.Add("reconnect");
                    await call.RequestStream.CompleteAsync();
                    return seen;
                default:
                    seen.Add(message.MsgCase.ToString());
                    break;
            }
        }

        return seen;
    }

    private static async Task<(RunResult Result, List<string>[] Seen)> RunAsync(int clients, Func<int, int, Task<List<string>>> client, int rounds = 2)
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0, FinishGrace = TimeSpan.FromSeconds(10) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = rounds, MinNodes = clients, RoundTimeout = TimeSpan.FromSeconds(30), RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var initial = new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } };
        var run = driver.RunAsync(initial);
        var standIns = Enumerable.Range(0, clients).Select(i => client(i, server.FlowerPort!.Value)).ToArray();
        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History).WaitAsync(Limit);
        var seen = await Task.WhenAll(standIns).WaitAsync(Limit);
        return (result, seen);
    }

    [Fact]
    public async Task Run_TwoFlowerClients_FollowFlowersSequenceAndAverage()
    {
        var (result, seen) = await RunAsync(2, (i, port) => RunStandInAsync(port, i == 0 ? 1f : 3f));

        Assert.Equal(StopReasons.RoundLimit, result.History.StopReason);
        Assert.All(seen, s => Assert.Equal(["fit", "evaluate", "fit", "evaluate", "reconnect"], s));
        // Round 1: mean of 0+1 and 0+3 = 2; round 2: mean of 3 and 5 = 4.
        Assert.Equal(new float[] { 4, 4, 4 }, result.Parameters["w"].AsSpan<float>().ToArray());
        Assert.Equal(2, result.History.Rounds[0].Evaluate["loss"]);
        Assert.Equal(4, result.History.Rounds[1].Evaluate["loss"]);
    }

    public static TheoryData<string> HostileKinds => ["no-oneof", "empty-scalar", "not-npy", "pickled", "wrong-shape"];

    [Theory]
    [MemberData(nameof(HostileKinds))]
    public async Task Run_HostileFlowerAnswer_IsAFailureAndOthersFinish(string kind)
    {
        // The hostile answer must fit the model of this test ("w": float32 (3,)) except for the flaw under test.
        var hostile = HostileFor(kind);
        var (result, seen) = await RunAsync(3, (i, port) => RunStandInAsync(port, 1f, i == 2 ? hostile : null));

        var round1 = result.History.Rounds[0];
        Assert.Equal(2, round1.Results);
        var failure = Assert.Single(round1.Failures);
        Assert.Equal("invalid_reply", failure.Code);
        Assert.StartsWith(ExpectedStart(kind), failure.Reason, StringComparison.Ordinal);
        Assert.Equal(3, result.History.Rounds[1].Results);
        Assert.Empty(result.History.Rounds[1].Failures);
        Assert.All(seen, s => Assert.Equal("reconnect", s[^1]));
    }

    private static string ExpectedStart(string kind) => kind switch
    {
        "no-oneof" => "the Flower client sent a ClientMessage with no message set",
        "empty-scalar" => "the Flower client's fit_res is unreadable: the value of 'x' is an empty Scalar",
        "not-npy" => "the Flower client's fit_res is unreadable: tensor 0: not a .npy file",
        "pickled" => "the Flower client's fit_res is unreadable: tensor 0: the .npy array holds Python objects (pickled)",
        _ => "the Flower client's fit_res is unreadable: tensor 0 ('w') has shape (2,) but the model's is (3,)",
    };

    private static ClientMessage HostileFor(string kind)
    {
        var message = Federate.Protocol.Tests.FlowerSamples.Hostile(kind);
        if (message.FitRes is { } fit && kind == "empty-scalar")
        {
            // Same flaw, but tensors that fit this test's model, so only the scalar is wrong.
            fit.Parameters = FlowerMapping.ToParameters(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 1, 1, 1 }, 3) } });
        }
        else if (message.FitRes is { } fit2 && kind is "not-npy" or "pickled" or "wrong-shape")
        {
            var first = fit2.Parameters.Tensors[0];
            fit2.Parameters.Tensors.Clear();
            fit2.Parameters.Tensors.Add(first);
        }

        return message;
    }

    [Fact]
    public async Task Run_FlowerClientSendsInvalidProtobuf_IsDroppedAndOthersFinish()
    {
        var (result, seen) = await RunAsync(3, (i, port) => i == 2 ? SendGarbageAsync(port) : RunStandInAsync(port, 1f), rounds: 1);

        var round1 = Assert.Single(result.History.Rounds);
        Assert.Equal(2, round1.Results);
        // The node is gone for the rest of the round: its train task and its evaluate task both fail.
        Assert.Equal(["train:dropped", "evaluate:dropped"], round1.Failures.Select(f => $"{f.Phase}:{f.Code}"));
        Assert.StartsWith("node ", round1.Failures[0].Reason, StringComparison.Ordinal);
        Assert.Equal(["fit", "evaluate", "reconnect"], seen[0]);
        Assert.Equal(["fit", "evaluate", "reconnect"], seen[1]);
    }

    /// <summary>Answers the first instruction with bytes that are not a protobuf message.</summary>
    private static async Task<List<string>> SendGarbageAsync(int port)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "flwr.proto.FlowerService", "Join", bytes, bytes);
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.WriteAsync([0xff, 0xff, 0xff]);
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        }
        catch (RpcException)
        {
            // The server gave up on this stream.
        }

        return ["garbage"];
    }

    [Fact]
    public async Task Run_FlowerRepliesArriveInReverse_FoldInRegistrationOrder()
    {
        // float32 sums depend on the order: (1 + 1e8) - 1e8 = 0 but (-1e8 + 1e8) + 1 = 1. The clients join in order
        // 0, 1, 2 and answer in order 2, 1, 0; the fold must follow registration (node id) order.
        var joined = new JoinWatcher();
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0 };
        await using var server = await FleetServer.StartAsync(options, logging => logging.AddProvider(joined));
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 3, RoundTimeout = TimeSpan.FromSeconds(30), RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0 }, 1) } });
        var answered = new[] { NewSignal(), NewSignal(), NewSignal() };
        var steps = new[] { 1f, 1e8f, -1e8f };
        var clients = new List<Task<List<string>>>();
        for (int i = 0; i < 3; i++)
        {
            int k = i;
            Task? after = k < 2 ? answered[k + 1].Task : null;
            clients.Add(RunStandInAsync(server.FlowerPort!.Value, steps[k], beforeFirstFit: after, afterFirstFit: answered[k]));
            await joined.WaitForAsync(k + 1).WaitAsync(Limit);
        }

        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History).WaitAsync(Limit);
        await Task.WhenAll(clients).WaitAsync(Limit);

        Assert.Equal(3, result.History.Rounds[0].Results);
        Assert.Equal(new float[] { 0 }, result.Parameters["w"].AsSpan<float>().ToArray());
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Signals when the server's log says that a node joined with N connected.</summary>
    private sealed class JoinWatcher : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<int, TaskCompletionSource> _waits = [];

        public Task WaitForAsync(int count)
        {
            lock (_lock)
            {
                return Signal(count).Task;
            }
        }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception);
            var match = System.Text.RegularExpressions.Regex.Match(text, @"joined \((\d+) connected\)");
            if (match.Success)
            {
                lock (_lock)
                {
                    Signal(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).TrySetResult();
                }
            }
        }

        public void Dispose()
        {
        }

        private TaskCompletionSource Signal(int count)
        {
            if (!_waits.TryGetValue(count, out var tcs))
            {
                tcs = NewSignal();
                _waits[count] = tcs;
            }

            return tcs;
        }
    }

    [Fact]
    public async Task Join_OnNativePort_IsUnimplemented()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0 };
        await using var server = await FleetServer.StartAsync(options);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        using var call = new FlowerService.FlowerServiceClient(channel).Join();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Limit));

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.NotEqual(server.Port, server.FlowerPort);
    }
}
