using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Tests;

/// <summary>
/// The bulk transfer endpoint (plain HTTP/1.1 beside gRPC): the same model as the gRPC streams, with TLS and
/// payload encryption under kits, and the wire's checks (corrupt chunk, chunk boundaries, resumed downloads).
/// </summary>
public sealed class BulkTransferTests
{
    private const int ChunkSize = 4096;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private static ArrayRecord Initial() => new()
    {
        { "w", Tensor.FromArray(Enumerable.Range(0, 10_000).Select(i => i * 0.001f).ToArray(), 10_000) },
        { "b", Tensor.FromArray(new float[] { 1, 2, 3 }, 3) },
    };

    private static async Task<(byte[] Model, IReadOnlyList<string> Log)> RunAsync(bool bulk, string? kits = null, Func<ArrayRecord>? initial = null)
    {
        initial ??= Initial;
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = kits is null, ChunkSize = ChunkSize, FinishGrace = TimeSpan.FromSeconds(5) };
        if (kits is not null)
        {
            options.Identity = new ServerIdentity(StartupKit.Load(Path.Combine(kits, "server"), KitRoles.Server));
        }

        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 2, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } }, runOptions, [server.Observer]);
        var run = driver.RunAsync(initial());

        var log = new ListLogger();
        var clientOptions = new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = kits is null, PartitionId = 0, Name = "a", ChunkSize = ChunkSize, UseTransferEndpoint = bulk };
        using var identity = kits is null ? null : new ClientIdentity(StartupKit.Load(Path.Combine(kits, "a")));
        clientOptions.Identity = identity;
        using var client = new FleetClient(clientOptions, new AddOneApp(), logger: log);
        using var stop = new CancellationTokenSource(Limit);
        var clientRun = client.RunAsync(stop.Token);
        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History);
        Assert.Equal(ClientExit.Finished, await clientRun.WaitAsync(Limit));
        Assert.All(result.History.Rounds, r => Assert.Empty(r.Failures));
        var model = result.Parameters.Select(kv => kv.Value).SelectMany(t => t.AsBytes().ToArray()).ToArray();
        return (model, log.Lines);
    }

    [Fact]
    public async Task Run_OverTheTransferEndpoint_SameModelAsOverTheGrpcStreams()
    {
        var (bulk, bulkLog) = await RunAsync(bulk: true);
        var (grpc, grpcLog) = await RunAsync(bulk: false);

        Assert.Equal(grpc, bulk);
        var expected = Initial().Select(kv => kv.Value).SelectMany(t => t.AsSpan<float>().ToArray().Select(v => v + 1f + 1f)).SelectMany(BitConverter.GetBytes).ToArray();
        Assert.Equal(expected, bulk);
        Assert.Equal(2, bulkLog.Count(l => l.StartsWith("transfer: download 40012 bytes", StringComparison.Ordinal) && l.EndsWith("over the transfer endpoint", StringComparison.Ordinal)));
        Assert.Equal(2, bulkLog.Count(l => l.StartsWith("transfer: upload 40012 bytes", StringComparison.Ordinal) && l.EndsWith("over the transfer endpoint", StringComparison.Ordinal)));
        Assert.DoesNotContain(grpcLog, l => l.Contains("transfer endpoint", StringComparison.Ordinal));
        Assert.Equal(2, grpcLog.Count(l => l.StartsWith("transfer: upload 40012 bytes", StringComparison.Ordinal) && l.EndsWith("over the gRPC streams", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Run_ModelOfAtMostInlineBytes_StaysInTheGrpcStreamsBothWays()
    {
        // 8,192 floats: exactly FleetProtocol.InlineTensorBytes, so a client with the transfer endpoint open still
        // receives the task and sends its update in the gRPC streams (one request fewer each way for a small model).
        static ArrayRecord Small() => new() { { "w", Tensor.FromArray(Enumerable.Range(0, 8192).Select(i => i * 0.5f).ToArray(), 8192) } };
        Assert.Equal(FleetProtocol.InlineTensorBytes, Small()["w"].ByteLength);
        var (model, log) = await RunAsync(bulk: true, initial: Small);

        Assert.Equal(Small()["w"].AsSpan<float>().ToArray().Select(v => v + 2f).SelectMany(BitConverter.GetBytes).ToArray(), model);
        Assert.Equal(2, log.Count(l => l.StartsWith("transfer: download 32768 bytes", StringComparison.Ordinal) && l.EndsWith("over the gRPC streams", StringComparison.Ordinal)));
        Assert.Equal(2, log.Count(l => l.StartsWith("transfer: upload 32768 bytes", StringComparison.Ordinal) && l.EndsWith("over the gRPC streams", StringComparison.Ordinal)));
        Assert.DoesNotContain(log, l => l.Contains("transfer endpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WithKits_TransferEndpointServesTlsAndEncryptedChunks_SameModel()
    {
        var dir = Path.Combine(Path.GetTempPath(), "federate-bulk-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Provisioner.Create("bulk", ["127.0.0.1"], 9443, ["a"], [], dir);
            var (model, log) = await RunAsync(bulk: true, kits: dir);
            var expected = Initial().Select(kv => kv.Value).SelectMany(t => t.AsSpan<float>().ToArray().Select(v => v + 1f + 1f)).SelectMany(BitConverter.GetBytes).ToArray();
            Assert.Equal(expected, model);
            Assert.Equal(2, log.Count(l => l.StartsWith("transfer: download 40012 bytes", StringComparison.Ordinal) && l.EndsWith("over the transfer endpoint", StringComparison.Ordinal)));
            Assert.Equal(2, log.Count(l => l.StartsWith("transfer: upload 40012 bytes", StringComparison.Ordinal) && l.EndsWith("over the transfer endpoint", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Wire_ResumedDownload_CorruptUpload_AndBadBoundary_AreHandledAsSpecified()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, ChunkSize = ChunkSize, FinishGrace = TimeSpan.FromSeconds(1) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } }, runOptions, [server.Observer]);
        var run = driver.RunAsync(Initial());

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var fleet = new Fleet.FleetClient(channel);
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "raw", PartitionId = 0 });
        Assert.True(me.TransferPort > 0);
        TaskHeader? header = null;
        while (header is null)
        {
            using var pull = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = me.NodeId, Bulk = true });
            while (await pull.ResponseStream.MoveNext(CancellationToken.None))
            {
                header ??= pull.ResponseStream.Current.Task;
                Assert.NotEqual(TaskFrame.FrameOneofCase.Chunk, pull.ResponseStream.Current.FrameCase);
            }
        }

        Assert.True(header.Bulk);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{me.TransferPort}"), DefaultRequestVersion = HttpVersion.Version11 };
        http.DefaultRequestHeaders.Add(BulkFrames.NodeHeader, me.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var id = header.Metadata.MessageId;

        // Not a chunk boundary: refused with the gRPC code and one line.
        using (var bad = await http.GetAsync($"{BulkFrames.TensorsPath}?task={Uri.EscapeDataString(id)}&from=0:100"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("3", bad.Headers.GetValues(BulkFrames.StatusHeader).Single());
            Assert.Equal("'from=0:100' is not a chunk boundary of this task's tensors (TENSOR:OFFSET)", await bad.Content.ReadAsStringAsync());
        }

        // A download cut after 3 chunks, then resumed from where the verifier got to: the whole model, verified.
        Tensor[] tensors = [Tensor.Zeros(DType.Float32, 10_000), Tensor.Zeros(DType.Float32, 3)];
        using var verifier = new ChunkVerifier([(40_000, 4), (12, 4)], FleetProtocol.MaxChunkSize);
        var reader = new ChunkStreamReader(verifier, (i, offset, length) => MemoryMarshal.AsMemory(TensorChunks.AsMemory(tensors[i]).Slice((int)offset, length)));
        var first = await http.GetByteArrayAsync(BulkFrames.TaskPath(id));
        await Assert.ThrowsAsync<IOException>(() => reader.ReadAsync(new CutStream(first, 3 * (ChunkSize + 60)), NextAsync, CancellationToken.None));
        Assert.Equal(0, verifier.CurrentTensor);
        Assert.True(verifier.CurrentOffset is > 0 and < 40_000 && verifier.CurrentOffset % ChunkSize == 0, $"resume at {verifier.CurrentOffset}");
        using (var rest = await http.GetStreamAsync(BulkFrames.TaskPath(id, verifier.CurrentTensor, verifier.CurrentOffset)))
        {
            Assert.Null(await reader.ReadAsync(rest, NextAsync, CancellationToken.None));
        }

        Assert.True(verifier.IsComplete);
        Assert.Equal(Initial().Select(kv => kv.Value).SelectMany(t => t.AsBytes().ToArray()), tensors.SelectMany(t => t.AsBytes().ToArray()));

        // An upload whose second chunk has one flipped byte: refused naming the chunk; the round records the failure.
        var update = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = me.NodeId, Metadata = header.Metadata.Clone() };
        update.Metadata.ReplyTo = id;
        update.Tensors.AddRange(header.Tensors);
        var metrics = new NamedMetricRecord { Name = RecordNames.Metrics };
        metrics.Entries.Add(new MetricEntry { Key = RecordNames.NumExamples, Value = 1 });
        update.Metrics.Add(metrics);
        using var body = new MemoryStream();
        await BulkFrames.WriteAsync(body, new UpdateFrame { Header = update }, default, CancellationToken.None);
        int dataStart = (int)body.Length;
        await BulkFrames.WriteTensorsAsync(body, tensors, ChunkSize, 0, 0, static (c, d) => c is not null ? new UpdateFrame { Chunk = c } : new UpdateFrame { Digest = d }, null, null, null, CancellationToken.None);
        var bytes = body.ToArray();
        int secondChunkData = SecondChunkData(bytes, dataStart);
        bytes[secondChunkData + 10] ^= 0x04;
        using var post = await http.PostAsync(BulkFrames.UpdatesPath, new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("SHA-256 mismatch in chunk of tensor 0 at byte offset 4096", await post.Content.ReadAsStringAsync());

        var result = await run.WaitAsync(Limit);
        var failure = Assert.Single(result.History.Rounds[0].Failures, f => f.Phase == "train");
        Assert.Equal("invalid_update", failure.Code);
    }

    [Fact]
    public async Task Run_UploadRefusedMidStream_ClientStopsWithTheServersReason()
    {
        // A 4 MB update over the transfer endpoint whose chunk 878 (of 977) holds a NaN: the server answers while the
        // client is still sending, and the client reports the server's reason.
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, ChunkSize = ChunkSize, FinishGrace = TimeSpan.FromSeconds(5) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg(), runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.Zeros(DType.Float32, 1_000_000) } });

        var log = new ListLogger();
        using var client = new FleetClient(new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = 0, Name = "nan", ChunkSize = ChunkSize }, new NaNApp(), logger: log);
        using var stop = new CancellationTokenSource(Limit);
        var refused = await Assert.ThrowsAsync<FleetClientException>(() => client.RunAsync(stop.Token));
        Assert.Equal("the server refused this client's update: tensor 'w' contains NaN or infinity (chunk at byte offset 3596288)", refused.Message);
        Assert.Contains(log.Lines, l => l.StartsWith("transfer: download 4000000 bytes", StringComparison.Ordinal) && l.EndsWith("over the transfer endpoint", StringComparison.Ordinal));

        var result = await run.WaitAsync(Limit);
        Assert.Equal("invalid_update", Assert.Single(result.History.Rounds[0].Failures, f => f.Phase == "train").Code);
    }

    private sealed class NaNApp : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var values = new float[1_000_000];
            values[900_000] = float.NaN;
            var content = new RecordDict();
            content.Arrays[message.Content!.Arrays.Keys.Single()] = new ArrayRecord { { "w", Tensor.FromArray(values, values.Length) } };
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }

    private static int SecondChunkData(byte[] bytes, int at)
    {
        for (int chunk = 0; ; chunk++)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            var frame = UpdateFrame.Parser.ParseFrom(bytes, at + 4, length);
            at += 4 + length;
            if (chunk == 1)
            {
                return at;
            }

            at += (int)frame.Chunk.DataLength;
        }
    }

    private static async ValueTask<(TensorChunk? Chunk, TensorDigest? Digest)?> NextAsync(Stream stream, CancellationToken cancellationToken)
    {
        var frame = await BulkFrames.ReadAsync(stream, TaskFrame.Parser, cancellationToken);
        return frame is null ? null : (frame.Chunk, frame.Digest);
    }

    /// <summary>The first <paramref name="cut"/> bytes of a download, then a broken connection.</summary>
    private sealed class CutStream(byte[] bytes, int cut) : MemoryStream(bytes, 0, cut)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position >= Length ? throw new IOException("connection reset") : base.ReadAsync(buffer, cancellationToken);
    }

    private sealed class AddOneApp : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var content = new RecordDict();
            foreach (var (name, record) in message.Content!.Arrays)
            {
                var copy = new ArrayRecord();
                foreach (var (key, tensor) in record)
                {
                    copy.Add(key, Tensor.FromArray(tensor.AsSpan<float>().ToArray().Select(v => v + 1f).ToArray(), [.. tensor.Shape]));
                }

                content.Arrays[name] = copy;
            }

            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => _lines.Enqueue(formatter(state, exception));
    }
}
