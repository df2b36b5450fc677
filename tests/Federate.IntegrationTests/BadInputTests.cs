using System.Security.Cryptography;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Hostile input from a raw gRPC client is refused with a clear status while a real client carries on.</summary>
public sealed class BadInputTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Server_BadInput_RefusedWithClearStatusAndRunFinishes()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "logistic", "--min-clients", "2", "--rounds", "5", "--heartbeat-interval", "1", "--node-expiry", "30"));
        await server.WaitForLineAsync("listening on");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var fleet = new Fleet.FleetClient(channel);
        var timeout = TimeSpan.FromSeconds(30);

        // Wrong protocol version.
        var version = await Assert.ThrowsAsync<RpcException>(() => fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = 99, Name = "old" }, deadline: Deadline(timeout)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, version.StatusCode);
        Assert.Contains("v99", version.Status.Detail, StringComparison.Ordinal);

        // Garbage bytes instead of a protobuf message.
        var garbageMethod = new Method<byte[], byte[]>(MethodType.Unary, "federate.fleet.v1.Fleet", "Register", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var garbage = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(garbageMethod, null, new CallOptions(deadline: Deadline(timeout)), [0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x13]).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, garbage.StatusCode);
        Assert.Contains("Protocol message", garbage.Status.Detail, StringComparison.Ordinal);

        // Partition 0: the hostile update is folded first, straight from its chunks, so a bad tail must be undone.
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "hostile", PartitionId = 0 }, deadline: Deadline(timeout));
        using var stopHeartbeats = new CancellationTokenSource();
        var heartbeats = HeartbeatsAsync(fleet, me.NodeId, stopHeartbeats.Token);

        await using var honest = FederateProcess.Start("client", log, Args.ClientArgs(port, "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2"));
        var statuses = new List<(string Case, StatusCode Code, string Detail)>();
        string? firstTrainId = null;
        int trainTasks = 0;
        while (trainTasks < 5)
        {
            var (header, tensors) = await PullAsync(fleet, me.NodeId, timeout);
            if (header is null)
            {
                continue;
            }

            var meta = header.Metadata;
            if (meta.Kind == MessageKind.Evaluate)
            {
                await SubmitAsync(fleet, Header(me.NodeId, meta, 10), [], timeout);
                continue;
            }

            trainTasks++;
            firstTrainId ??= meta.MessageId;
            var layout = header.Tensors;
            string label;
            RpcException refused;
            switch (trainTasks)
            {
                case 1:
                {
                    label = "wrong shape";
                    var h = Header(me.NodeId, meta, 10);
                    h.Tensors.AddRange(layout.Select(l => l.Clone()));
                    h.Tensors[0].Shape[0] += 1;
                    refused = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(fleet, h, [], timeout));
                    break;
                }

                case 2:
                {
                    label = "wrong dtype";
                    var h = Header(me.NodeId, meta, 10);
                    h.Tensors.AddRange(layout.Select(l => l.Clone()));
                    h.Tensors[0].Dtype = DataType.Float64;
                    refused = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(fleet, h, [], timeout));
                    break;
                }

                case 3:
                {
                    label = "NaN";
                    var h = Header(me.NodeId, meta, 10_000);
                    h.Tensors.AddRange(layout);
                    tensors[0].AsSpan<float>().Fill(1000f); // folded chunk by chunk, then taken back out
                    tensors[0].AsSpan<float>()[^1] = float.NaN;
                    refused = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(fleet, h, tensors, timeout));
                    break;
                }

                case 4:
                {
                    label = "bad chunk hash";
                    var h = Header(me.NodeId, meta, 10);
                    h.Tensors.AddRange(layout);
                    refused = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(fleet, h, tensors, timeout, corruptHash: true));
                    break;
                }

                default:
                {
                    label = "finished round";
                    var old = meta.Clone();
                    old.ReplyTo = firstTrainId;
                    var h = Header(me.NodeId, meta, 10);
                    h.Metadata.ReplyTo = firstTrainId!;
                    h.Tensors.AddRange(layout);
                    refused = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(fleet, h, tensors, timeout));
                    break;
                }
            }

            statuses.Add((label, refused.StatusCode, refused.Status.Detail));
            if (trainTasks == 5)
            {
                // This task is still open: answer it with an error reply (a failure as a value), then leave.
                var error = Header(me.NodeId, meta, 10);
                error.Error = new ReplyError { Code = "client_error", Reason = "hostile client gives up" };
                await SubmitAsync(fleet, error, [], timeout);
                await fleet.QuitAsync(new QuitRequest { NodeId = me.NodeId, Reason = "done" }, deadline: Deadline(timeout));
            }
        }

        await stopHeartbeats.CancelAsync();
        await heartbeats.WaitAsync(timeout);
        Assert.Equal(0, await server.WaitForExitAsync());

        foreach (var s in statuses)
        {
            log.WriteLine($"{s.Case}: {s.Code} {s.Detail}");
        }

        Assert.Equal(StatusCode.InvalidArgument, statuses[0].Code);
        Assert.Contains("should be", statuses[0].Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, statuses[1].Code);
        Assert.Contains("Float64", statuses[1].Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, statuses[2].Code);
        Assert.Contains("NaN", statuses[2].Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, statuses[3].Code);
        Assert.Contains("SHA-256", statuses[3].Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, statuses[4].Code);
        Assert.Equal("round 1 is finished", statuses[4].Detail);

        // The honest client's updates made every round; the refusals are recorded as failures.
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(5, history.Rounds.Count);
        Assert.All(history.Rounds, r => Assert.Equal(1, r.Results));
        Assert.All(history.Rounds.Take(4), r => Assert.Contains(r.Failures, f => f.Code == "invalid_update"));
        Assert.Contains(history.Rounds[4].Failures, f => f.Code == "client_error");

        // The partly folded bad update was taken back out: the model still learns.
        Assert.Contains("took 2048 already folded bytes", server.Output, StringComparison.Ordinal);
        Assert.All(history.Rounds, r => Assert.True(double.IsFinite(r.Evaluate["loss"])));
        Assert.True(history.Rounds[2].Evaluate["accuracy"] > 0.5, $"accuracy {history.Rounds[2].Evaluate["accuracy"]}");
        log.WriteLine($"garbage: {garbage.StatusCode} {garbage.Status.Detail}");
    }

    /// <summary>Sends heartbeats for a raw client until <paramref name="stop"/> fires.</summary>
    internal static Task HeartbeatsAsync(Fleet.FleetClient fleet, long nodeId, CancellationToken stop) => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = nodeId }, cancellationToken: stop);
                await Task.Delay(300, stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException)
            {
                return;
            }
        }
    });

    internal static DateTime Deadline(TimeSpan timeout) => DateTime.UtcNow + timeout;

    internal static UpdateHeader Header(long nodeId, MessageHeader task, double examples)
    {
        var metadata = task.Clone();
        metadata.ReplyTo = task.MessageId;
        metadata.MessageId = task.MessageId + "/reply";
        var header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = metadata };
        var metrics = new NamedMetricRecord { Name = RecordNames.Metrics };
        metrics.Entries.Add(new MetricEntry { Key = "loss", Value = 1 });
        metrics.Entries.Add(new MetricEntry { Key = RecordNames.NumExamples, Value = examples });
        header.Metrics.Add(metrics);
        return header;
    }

    internal static async Task<(TaskHeader? Header, Tensor[] Tensors)> PullAsync(Fleet.FleetClient fleet, long nodeId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var call = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, WaitMs = 5000 }, cancellationToken: cts.Token);
        TaskHeader? header = null;
        Tensor[] tensors = [];
        while (await call.ResponseStream.MoveNext(cts.Token))
        {
            var frame = call.ResponseStream.Current;
            switch (frame.FrameCase)
            {
                case TaskFrame.FrameOneofCase.Task:
                    header = frame.Task;
                    var content = new RecordDict();
                    Assert.Null(Mapping.TryAllocate(header.Tensors, content, out tensors));
                    break;
                case TaskFrame.FrameOneofCase.Chunk:
                    frame.Chunk.Data.Span.CopyTo(tensors[frame.Chunk.TensorIndex].AsBytes()[(int)frame.Chunk.Offset..]);
                    break;
            }
        }

        return (header, tensors);
    }

    internal static async Task SubmitAsync(Fleet.FleetClient fleet, UpdateHeader header, Tensor[] tensors, TimeSpan timeout, bool corruptHash = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var call = fleet.SubmitUpdate(cancellationToken: cts.Token);
        try
        {
            await call.RequestStream.WriteAsync(new UpdateFrame { Header = header });
            for (int i = 0; i < tensors.Length; i++)
            {
                foreach (var (chunk, digest) in TensorChunks.Split(tensors[i], (uint)i, 1024))
                {
                    if (chunk is not null && corruptHash)
                    {
                        chunk.Sha256 = ByteString.CopyFrom(SHA256.HashData([1, 2, 3]));
                    }

                    await call.RequestStream.WriteAsync(chunk is not null ? new UpdateFrame { Chunk = chunk } : new UpdateFrame { Digest = digest });
                }
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or RpcException or IOException)
        {
            // The server ended the call early; its status follows.
        }

        await call.ResponseAsync;
    }
}
