using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Federate.Server.Tests;

/// <summary>
/// SubmitAndPull: a reply and the pull for the next task on one call. The server accepts the update exactly as
/// SubmitUpdate would, says so with a <c>submitted</c> frame, then sends what PullTask would; a refused update ends
/// the call with SubmitUpdate's status and nothing else. A client facing a server without the call falls back to
/// SubmitUpdate and PullTask.
/// </summary>
public sealed class SubmitAndPullTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SubmitAndPull_AcceptedUpdates_EachCallBringsTheNextTaskThenTheRunsEnd()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5), HeartbeatInterval = TimeSpan.FromSeconds(30) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 2, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        // The run's end reaches the node on the call that answered the last task.
        var run = Task.Run(async () =>
        {
            var result = await driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } });
            await server.FinishAsync(result.History);
            return result;
        });

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var fleet = new Fleet.FleetClient(channel);
        using var stop = new CancellationTokenSource(Limit);
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "raw", PartitionId = 0 }, cancellationToken: stop.Token);

        // The first task comes from a plain pull; every later one from the call that answered the task before it.
        using (var first = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = me.NodeId, WaitMs = 10_000 }, cancellationToken: stop.Token))
        {
            var task = await ReadTaskAsync(first.ResponseStream, stop.Token);
            Assert.Equal((MessageKind.Train, 1), (task.Header!.Metadata.Kind, task.Header.Metadata.Round));
            Assert.Equal([0f, 0f, 0f], task.Weights);

            var seen = new List<(MessageKind Kind, int Round, float[] Weights)>();
            var next = task;
            while (next.Header is { } header)
            {
                float[] weights = header.Metadata.Kind == MessageKind.Train ? [.. next.Weights.Select(v => v + header.Metadata.Round)] : [];
                using var call = fleet.SubmitAndPull(cancellationToken: stop.Token);
                var update = Reply(me.NodeId, header.Metadata, weights);
                update.Pull = new PullTaskRequest { WaitMs = 10_000 };
                await WriteAsync(call.RequestStream, update, weights);

                // The acceptance comes first, then the next task (or the run's end) on the same call.
                Assert.True(await call.ResponseStream.MoveNext(stop.Token));
                Assert.Equal(TaskFrame.FrameOneofCase.Submitted, call.ResponseStream.Current.FrameCase);
                Assert.True(call.ResponseStream.Current.Submitted.Accepted);
                next = await ReadTaskAsync(call.ResponseStream, stop.Token);
                if (next.Header is { } h)
                {
                    seen.Add((h.Metadata.Kind, h.Metadata.Round, next.Weights));
                }
                else
                {
                    Assert.NotNull(next.Finished);
                }
            }

            // Train 1 (+1), evaluate 1, train 2 (+2), evaluate 2: each evaluate task carries the model just aggregated.
            Assert.Equal(
                [(MessageKind.Evaluate, 1, [1f, 1f, 1f]), (MessageKind.Train, 2, [1f, 1f, 1f]), (MessageKind.Evaluate, 2, [3f, 3f, 3f])],
                seen.Select(s => (s.Kind, s.Round, s.Weights)).ToList(),
                new TupleComparer());
        }

        var result = await run.WaitAsync(Limit);
        Assert.All(result.History.Rounds, r => Assert.Empty(r.Failures));
        Assert.Equal([3f, 3f, 3f], result.Parameters["w"].AsSpan<float>().ToArray());
    }

    [Fact]
    public async Task SubmitAndPull_RefusedUpdate_EndsWithTheRefusalAndNoSubmittedFrame()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5), HeartbeatInterval = TimeSpan.FromSeconds(30) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } });

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var fleet = new Fleet.FleetClient(channel);
        using var stop = new CancellationTokenSource(Limit);
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "raw", PartitionId = 0 }, cancellationToken: stop.Token);
        using var pull = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = me.NodeId, WaitMs = 10_000 }, cancellationToken: stop.Token);
        var task = await ReadTaskAsync(pull.ResponseStream, stop.Token);

        // One weight too many.
        using var call = fleet.SubmitAndPull(cancellationToken: stop.Token);
        var update = Reply(me.NodeId, task.Header!.Metadata, [1, 2, 3, 4]);
        update.Pull = new PullTaskRequest { WaitMs = 10_000 };
        try
        {
            await WriteAsync(call.RequestStream, update, [1, 2, 3, 4]);
        }
        catch (Exception ex) when (ex is InvalidOperationException or RpcException or IOException)
        {
            // The server ended the call early; its status follows.
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(stop.Token));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("update does not match the global model: tensor 'w' should be Float32[3], got Float32[4]", refused.Status.Detail);
        await fleet.QuitAsync(new QuitRequest { NodeId = me.NodeId, Reason = "refused" }, cancellationToken: stop.Token);

        var result = await run.WaitAsync(Limit);
        Assert.Equal("invalid_update", Assert.Single(result.History.Rounds[0].Failures, f => f.Phase == "train").Code);
    }

    [Fact]
    public async Task SubmitAndPull_NoHeaderOrForeignTask_RefusedAndTheServerCarriesOn()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5), HeartbeatInterval = TimeSpan.FromSeconds(30) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } }, runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[] { 0, 0, 0 }, 3) } });

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var fleet = new Fleet.FleetClient(channel);
        using var stop = new CancellationTokenSource(Limit);

        // Nothing at all, then a chunk before any header.
        using (var empty = fleet.SubmitAndPull(cancellationToken: stop.Token))
        {
            await empty.RequestStream.CompleteAsync();
            var refused = await Assert.ThrowsAsync<RpcException>(() => empty.ResponseStream.MoveNext(stop.Token));
            Assert.Equal((StatusCode.InvalidArgument, "an update must start with an UpdateHeader frame"), (refused.StatusCode, refused.Status.Detail));
        }

        using (var headless = fleet.SubmitAndPull(cancellationToken: stop.Token))
        {
            await headless.RequestStream.WriteAsync(new UpdateFrame { Chunk = new TensorChunk { TensorIndex = 0, Offset = 0 } });
            await headless.RequestStream.CompleteAsync();
            var refused = await Assert.ThrowsAsync<RpcException>(() => headless.ResponseStream.MoveNext(stop.Token));
            Assert.Equal((StatusCode.InvalidArgument, "an update must start with an UpdateHeader frame"), (refused.StatusCode, refused.Status.Detail));
        }

        // A registered node answering a task that does not exist, with a pull for another node: refused before any
        // pull, so nothing of another node's is sent to it.
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "raw", PartitionId = 0 }, cancellationToken: stop.Token);
        using (var foreign = fleet.SubmitAndPull(cancellationToken: stop.Token))
        {
            var update = Reply(me.NodeId, new MessageHeader { RunId = options.RunId, Round = 1, Kind = MessageKind.Train, MessageId = "no-such-task" }, []);
            update.Pull = new PullTaskRequest { NodeId = me.NodeId + 1, WaitMs = 10_000 };
            await WriteAsync(foreign.RequestStream, update, []);
            var refused = await Assert.ThrowsAsync<RpcException>(() => foreign.ResponseStream.MoveNext(stop.Token));
            Assert.Equal((StatusCode.NotFound, "no task with id 'no-such-task'"), (refused.StatusCode, refused.Status.Detail));
        }

        // The server carries on: the node gets its task and its reply over SubmitAndPull finishes the run.
        using var pull = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = me.NodeId, WaitMs = 10_000 }, cancellationToken: stop.Token);
        var task = await ReadTaskAsync(pull.ResponseStream, stop.Token);
        using var call = fleet.SubmitAndPull(cancellationToken: stop.Token);
        var reply = Reply(me.NodeId, task.Header!.Metadata, [1, 1, 1]);
        reply.Pull = new PullTaskRequest { WaitMs = 1 };
        await WriteAsync(call.RequestStream, reply, [1, 1, 1]);
        Assert.True(await call.ResponseStream.MoveNext(stop.Token));
        Assert.True(call.ResponseStream.Current.Submitted.Accepted);
        var result = await run.WaitAsync(Limit);
        Assert.Equal([1f, 1f, 1f], result.Parameters["w"].AsSpan<float>().ToArray());
    }

    [Fact]
    public async Task RunAsync_ServerWithoutSubmitAndPull_SubmitsAndPullsSeparately()
    {
        await using var legacy = await LegacyServer.StartAsync();
        using var client = new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{legacy.Port}", Insecure = true, PartitionId = 0, Name = "a" }, new MetricsApp());
        using var stop = new CancellationTokenSource(Limit);
        Assert.Equal(ClientExit.Finished, await client.RunAsync(stop.Token));

        // Two tasks, each answered over SubmitUpdate; SubmitAndPull was tried once only.
        Assert.Equal(["task-1", "task-2"], legacy.Service.Replies);
        Assert.Equal(1, legacy.Service.SubmitAndPullAttempts);
    }

    private static UpdateHeader Reply(long nodeId, MessageHeader task, float[] weights)
    {
        var metadata = task.Clone();
        metadata.ReplyTo = task.MessageId;
        metadata.MessageId = task.MessageId + "/reply";
        var header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = metadata };
        var metrics = new NamedMetricRecord { Name = RecordNames.Metrics };
        metrics.Entries.Add(new MetricEntry { Key = RecordNames.NumExamples, Value = 1 });
        if (task.Kind == MessageKind.Evaluate)
        {
            metrics.Entries.Add(new MetricEntry { Key = "loss", Value = 0.5 });
        }

        header.Metrics.Add(metrics);
        if (weights.Length > 0)
        {
            header.Tensors.Add(new TensorLayout { Record = RecordNames.Model, Name = "w", Dtype = DataType.Float32, Shape = { weights.Length } });
        }

        return header;
    }

    private static async Task WriteAsync(IClientStreamWriter<UpdateFrame> stream, UpdateHeader header, float[] weights)
    {
        await stream.WriteAsync(new UpdateFrame { Header = header });
        if (weights.Length > 0)
        {
            foreach (var (chunk, digest) in TensorChunks.Split(Tensor.FromArray(weights, weights.Length), 0, 1024))
            {
                await stream.WriteAsync(chunk is not null ? new UpdateFrame { Chunk = chunk } : new UpdateFrame { Digest = digest });
            }
        }

        await stream.CompleteAsync();
    }

    /// <summary>Reads a pull's frames up to the end of its task (or the run's end, or the end of the poll).</summary>
    private static async Task<(TaskHeader? Header, float[] Weights, RunFinished? Finished)> ReadTaskAsync(IAsyncStreamReader<TaskFrame> stream, CancellationToken cancellationToken)
    {
        TaskHeader? header = null;
        Tensor[] tensors = [];
        while (await stream.MoveNext(cancellationToken))
        {
            var frame = stream.Current;
            switch (frame.FrameCase)
            {
                case TaskFrame.FrameOneofCase.Task:
                    header = frame.Task;
                    Assert.Null(Mapping.TryAllocate(header.Tensors, new RecordDict(), out tensors));
                    break;
                case TaskFrame.FrameOneofCase.Chunk:
                    frame.Chunk.Data.Span.CopyTo(tensors[frame.Chunk.TensorIndex].AsBytes()[(int)frame.Chunk.Offset..]);
                    break;
                case TaskFrame.FrameOneofCase.Finished:
                    return (null, [], frame.Finished);
            }
        }

        return (header, tensors.Length > 0 ? tensors[0].AsSpan<float>().ToArray() : [], null);
    }

    private sealed class TupleComparer : IEqualityComparer<(MessageKind, int, float[])>
    {
        public bool Equals((MessageKind, int, float[]) x, (MessageKind, int, float[]) y) => x.Item1 == y.Item1 && x.Item2 == y.Item2 && x.Item3.SequenceEqual(y.Item3);

        public int GetHashCode((MessageKind, int, float[]) obj) => HashCode.Combine(obj.Item1, obj.Item2);
    }

    private sealed class MetricsApp : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var content = new RecordDict();
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }
}
