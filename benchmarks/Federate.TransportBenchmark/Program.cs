// Federate tensor transfer against raw loopback TCP, measured in the same run on the same machine.
//
// Raw TCP: one socket pair on 127.0.0.1, 128 KiB writes, the receiver reads into one buffer.
// Federate: a real FleetServer (Kestrel) running FedAvg over a float32 model of the given size and a real FleetClient
// (Federate.Client) whose app returns the model it received as its update. Download and upload are timed by the client
// itself (its "transfer:" log line: from the task header to the last verified byte, and from the first byte of the
// reply to the server's acceptance, which includes the server's checks and fold). Each size runs RUNS rounds; the
// first is a warm-up (JIT, pools) and the rest give medians. Paths: "bulk" is the transfer endpoint (HTTP/1.1 beside
// gRPC, the default), "grpc" keeps the tensors in the gRPC streams (--no-transfer-endpoint).
//
// Usage: dotnet run -c Release --project benchmarks/Federate.TransportBenchmark -- [--sizes "10 100 256 1000"] [--runs 5] [--paths "bulk grpc"]
//        ... -- [--runs N] --raw-only SIZE_MB   (prints the raw TCP median alone; used by benchmarks/transport/processes.sh)
//        ... -- [--runs N] --raw-cpu SIZE_MB    (raw TCP median MB/s and CPU ns per byte; used by benchmarks/datapath/profile.sh)
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Federate.Client;
using Federate.Core;
using Federate.Server;
using Microsoft.Extensions.Logging;

var sizes = new List<int> { 10, 100, 256, 1000 };
int runs = 5;
var paths = new List<string> { "bulk", "grpc" };
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--sizes": sizes = [.. args[++i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--paths": paths = [.. args[++i].Split(' ', StringSplitOptions.RemoveEmptyEntries)]; break;
        case "--raw-only":
            // For benchmarks/transport/processes.sh: the raw loopback TCP reference alone, median MB/s on one line.
            long rawBytes = (long)int.Parse(args[++i], CultureInfo.InvariantCulture) * 1_000_000;
            Console.WriteLine((await RawTcpAsync(rawBytes, runs)).ToString("0", CultureInfo.InvariantCulture));
            return 0;
        case "--raw-cpu":
            // For benchmarks/datapath/profile.sh: raw loopback TCP, median MB/s and the process CPU ns per byte moved.
            long cpuBytes = (long)int.Parse(args[++i], CultureInfo.InvariantCulture) * 1_000_000;
            var self = Process.GetCurrentProcess();
            var before = self.TotalProcessorTime;
            double rate = await RawTcpAsync(cpuBytes, runs);
            self.Refresh();
            Console.WriteLine(FormattableString.Invariant($"{rate:0} {(self.TotalProcessorTime - before).TotalNanoseconds / (cpuBytes * (double)runs):0.00}"));
            return 0;
        default: Console.Error.WriteLine($"unknown argument {args[i]}; see the comment at the top of Program.cs"); return 2;
    }
}

Console.WriteLine($"{Environment.ProcessorCount} cores, {runs} rounds per size (first is warm-up), medians of the rest");
Console.WriteLine("size MB | path | raw TCP MB/s | download MB/s | ratio | upload MB/s | ratio | CPU ns/byte (raw TCP)");
foreach (int sizeMb in sizes)
{
    long bytes = (long)sizeMb * 1_000_000 / 4 * 4;
    foreach (var path in paths)
    {
        var cpu = Process.GetCurrentProcess();
        var rawCpu = cpu.TotalProcessorTime;
        double raw = await RawTcpAsync(bytes, runs);
        cpu.Refresh();
        double rawNs = (cpu.TotalProcessorTime - rawCpu).TotalNanoseconds / (bytes * (double)runs);
        var (down, up, ns) = await FederateAsync(bytes, runs, path == "bulk");
        Console.WriteLine($"{sizeMb,7} | {path,-4} | {raw,12:0} | {down,13:0} | {down / raw,5:0.00} | {up,11:0} | {up / raw,5:0.00} | {ns,5:0.0} ({rawNs:0.00})");
    }
}

return 0;

static double Median(List<double> values)
{
    values.Sort();
    int n = values.Count;
    return n == 0 ? double.NaN : n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
}

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
    var rates = new List<double>();
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
            rates.Add(bytes / 1e6 / watch.Elapsed.TotalSeconds);
        }
    }

    return Median(rates);
}

// CPU per byte: the whole process (server, client, fold) from the end of the warm-up round to the end of the run,
// over the bytes moved in that time (down and up).
static async Task<(double Down, double Up, double CpuNsPerByte)> FederateAsync(long bytes, int rounds, bool bulk)
{
    var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, HeartbeatInterval = TimeSpan.FromSeconds(5), NodeExpiry = TimeSpan.FromMinutes(5) };
    await using var server = await FleetServer.StartAsync(options);
    var strategy = new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } };
    var driver = new RunDriver(server.Grid, strategy, new RunOptions { Rounds = rounds, MinNodes = 1 });
    var initial = new ArrayRecord { { "weights", Tensor.FromArray(new float[bytes / 4], bytes / 4) } };
    var run = driver.RunAsync(initial);
    initial = null!;

    var transfers = new TransferLog { Process = Process.GetCurrentProcess() };
    using var loggers = LoggerFactory.Create(b => b.AddProvider(transfers).SetMinimumLevel(LogLevel.Information));
    // Server and client share one heap here: the client's return of freed memory before each task (its default, for
    // its own peak) would also hand back the server's, which a server in its own process never sees; the client's
    // memory is measured through real processes (benchmarks/transport/processes.sh).
    var clientOptions = new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, Name = "bench", UseTransferEndpoint = bulk, ReturnMemoryBetweenTasks = false };
    using var client = new FleetClient(clientOptions, new EchoApp(), logger: loggers.CreateLogger("bench"));
    using var stop = new CancellationTokenSource();
    var clientRun = client.RunAsync(stop.Token);
    var result = await run.WaitAsync(TimeSpan.FromMinutes(30));
    await server.FinishAsync(result.History);
    await stop.CancelAsync();
    await clientRun.ContinueWith(_ => { }, TaskScheduler.Default);
    var down = transfers.Rates("download").Skip(1).ToList();
    var up = transfers.Rates("upload").Skip(1).ToList();
    var last = transfers.LastCpu;
    double ns = (last - transfers.WarmCpu).TotalNanoseconds / (2.0 * bytes * (rounds - 1));
    return (Median(down), Median(up), ns);
}

/// <summary>Returns the received model as its update (one example), like a client that trains for no time.</summary>
internal sealed class EchoApp : IClientApp
{
    public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
    {
        var content = new RecordDict();
        foreach (var (name, record) in message.Content!.Arrays)
        {
            content.Arrays[name] = record;
        }

        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
        return ValueTask.FromResult(message.CreateReply(content));
    }
}

/// <summary>Collects the client's "transfer:" log lines (direction, bytes, seconds).</summary>
internal sealed class TransferLog : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<(string Direction, double Rate)> _lines = new();

    public IEnumerable<double> Rates(string direction) => _lines.Where(l => l.Direction == direction).Select(l => l.Rate);

    public required Process Process { get; init; }

    /// <summary>Process CPU time when the first upload (the warm-up round) ended.</summary>
    public TimeSpan WarmCpu { get; private set; }

    /// <summary>Process CPU time at the last upload's end.</summary>
    public TimeSpan LastCpu { get; private set; }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (Environment.GetEnvironmentVariable("FEDERATE_BENCH_LOG") == "1")
        {
            Console.WriteLine("  " + formatter(state, exception));
        }

        if (state is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "Direction").Value is string direction)
        {
            var bytes = Convert.ToDouble(fields.First(f => f.Key == "Bytes").Value, CultureInfo.InvariantCulture);
            var seconds = Convert.ToDouble(fields.First(f => f.Key == "Seconds").Value, CultureInfo.InvariantCulture);
            _lines.Enqueue((direction, bytes / 1e6 / seconds));
            if (direction == "upload")
            {
                Process.Refresh();
                LastCpu = Process.TotalProcessorTime;
                WarmCpu = WarmCpu == TimeSpan.Zero ? LastCpu : WarmCpu;
            }
        }
    }

    public void Dispose()
    {
    }
}
