// Federate tensor transfer vs raw loopback TCP, measured in the same run on the same machine.
//
// Raw TCP: one socket pair on 127.0.0.1, 128 KiB writes, the receiver reads into one buffer.
// Federate: a real FleetServer (Kestrel, HTTP/2, gRPC) running FedAvg over a float32 model of the given size; a
// client on the generated gRPC stub does what Federate.Client does: PullTask (download: chunks verified with
// SHA-256 and copied into the tensor; timed from the task header on) and SubmitUpdate (upload: chunks with SHA-256; the server verifies, checks
// for NaN and spools them for folding). Each direction is timed separately; the first round warms up (JIT, pools).
//
// Usage: dotnet run -c Release --project benchmarks/Federate.TransportBenchmark -- [SIZE_MB] [ROUNDS]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

int sizeMb = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 512;
int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
long bytes = (long)sizeMb * 1_000_000 / 4 * 4;
Console.WriteLine($"payload {bytes / 1e6:0} MB, {rounds} rounds (first is warm-up), {Environment.ProcessorCount} cores");

double raw = await RawTcpAsync(bytes, rounds);
Console.WriteLine($"raw loopback TCP:           {raw:0} MB/s");
var (down, up) = await FederateAsync(bytes, rounds);
Console.WriteLine($"federate download (task):   {down:0} MB/s  = {down / raw:0.00} x raw TCP");
Console.WriteLine($"federate upload (update):   {up:0} MB/s  = {up / raw:0.00} x raw TCP");
Console.WriteLine($"federate mean of both:      {(down + up) / 2:0} MB/s  = {(down + up) / 2 / raw:0.00} x raw TCP");

static async Task<double> RawTcpAsync(long bytes, int rounds)
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    using var sender = new TcpClient();
    await sender.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
    using var receiver = await listener.AcceptTcpClientAsync();
    var source = new byte[128 * 1024];
    var sink = new byte[128 * 1024];
    Random.Shared.NextBytes(source);
    var best = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        var watch = Stopwatch.StartNew();
        var read = Task.Run(async () =>
        {
            var stream = receiver.GetStream();
            long got = 0;
            while (got < bytes)
            {
                got += await stream.ReadAsync(sink);
            }
        });
        var stream = sender.GetStream();
        for (long sent = 0; sent < bytes; sent += source.Length)
        {
            await stream.WriteAsync(source.AsMemory(0, (int)Math.Min(source.Length, bytes - sent)));
        }

        await read;
        if (r > 0)
        {
            best.Add(bytes / 1e6 / watch.Elapsed.TotalSeconds);
        }
    }

    return best.Average();
}

static async Task<(double Down, double Up)> FederateAsync(long bytes, int rounds)
{
    var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, HeartbeatInterval = TimeSpan.FromSeconds(5), NodeExpiry = TimeSpan.FromMinutes(5) };
    await using var server = await FleetServer.StartAsync(options, logging =>
    {
        if (Environment.GetEnvironmentVariable("FEDERATE_BENCH_LOG") == "1")
        {
            logging.AddSimpleConsole(o => o.SingleLine = true);
        }
    });
    var strategy = new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } };
    var runOptions = new RunOptions { Rounds = rounds, MinNodes = 1 };
    var driver = new RunDriver(server.Grid, strategy, runOptions);
    var initial = new ArrayRecord { { "weights", Tensor.FromArray(new float[bytes / 4], bytes / 4) } };
    var run = driver.RunAsync(initial);
    initial = null!;

    using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}", new GrpcChannelOptions
    {
        MaxReceiveMessageSize = FleetProtocol.MaxMessageSize,
        MaxSendMessageSize = FleetProtocol.MaxMessageSize,
        HttpHandler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 2 << 20, EnableMultipleHttp2Connections = true },
    });
    var fleet = new Fleet.FleetClient(channel);
    var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "bench" });
    var down = new List<double>();
    var up = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        // Download is timed from the task header to the last chunk: the wait before it is aggregation, not transfer.
        var (header, tensors, downSeconds) = await PullAsync(fleet, me.NodeId);
        var watch = Stopwatch.StartNew();
        await SubmitAsync(fleet, me.NodeId, header, tensors);
        var upSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"  round {r + 1}: down {bytes / 1e6 / downSeconds:0} MB/s, up {bytes / 1e6 / upSeconds:0} MB/s");
        if (r > 0)
        {
            down.Add(bytes / 1e6 / downSeconds);
            up.Add(bytes / 1e6 / upSeconds);
        }
    }

    await run.WaitAsync(TimeSpan.FromMinutes(5));
    return (down.Average(), up.Average());
}

static async Task<(TaskHeader Header, Tensor[] Tensors, double Seconds)> PullAsync(Fleet.FleetClient fleet, long nodeId)
{
    while (true)
    {
        using var call = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId });
        TaskHeader? header = null;
        Tensor[] tensors = [];
        ChunkVerifier? verifier = null;
        var watch = new Stopwatch();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var frame = call.ResponseStream.Current;
            switch (frame.FrameCase)
            {
                case TaskFrame.FrameOneofCase.Task:
                    watch.Start();
                    header = frame.Task;
                    if (Mapping.TryAllocate(header.Tensors, new RecordDict(), out tensors) is { } problem)
                    {
                        throw new InvalidDataException(problem);
                    }

                    verifier = new ChunkVerifier([.. tensors.Select(t => (t.ByteLength, t.DType.SizeOf()))], FleetProtocol.MaxChunkSize);
                    break;
                case TaskFrame.FrameOneofCase.Chunk:
                    if (verifier!.Verify(frame.Chunk) is { } bad)
                    {
                        throw new InvalidDataException(bad);
                    }

                    frame.Chunk.Data.Span.CopyTo(tensors[frame.Chunk.TensorIndex].AsBytes()[(int)frame.Chunk.Offset..]);
                    break;
                case TaskFrame.FrameOneofCase.Digest:
                    if (verifier!.Verify(frame.Digest) is { } badDigest)
                    {
                        throw new InvalidDataException(badDigest);
                    }

                    break;
            }
        }

        verifier?.Dispose();
        if (header is not null)
        {
            return (header, tensors, watch.Elapsed.TotalSeconds);
        }
    }
}

static async Task SubmitAsync(Fleet.FleetClient fleet, long nodeId, TaskHeader task, Tensor[] tensors)
{
    var metadata = task.Metadata.Clone();
    metadata.ReplyTo = task.Metadata.MessageId;
    metadata.MessageId = task.Metadata.MessageId + "/reply";
    var header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = metadata };
    header.Tensors.AddRange(task.Tensors);
    var metrics = new NamedMetricRecord { Name = RecordNames.Metrics };
    metrics.Entries.Add(new MetricEntry { Key = RecordNames.NumExamples, Value = 1 });
    header.Metrics.Add(metrics);
    using var call = fleet.SubmitUpdate();
    await call.RequestStream.WriteAsync(new UpdateFrame { Header = header });
    for (int i = 0; i < tensors.Length; i++)
    {
        foreach (var (chunk, digest) in TensorChunks.Split(tensors[i], (uint)i, FleetProtocol.DefaultChunkSize))
        {
            await call.RequestStream.WriteAsync(chunk is not null ? new UpdateFrame { Chunk = chunk } : new UpdateFrame { Digest = digest });
        }
    }

    await call.RequestStream.CompleteAsync();
    var reply = await call.ResponseAsync;
    if (!reply.Accepted)
    {
        throw new RpcException(new Status(StatusCode.Internal, reply.Detail));
    }
}
