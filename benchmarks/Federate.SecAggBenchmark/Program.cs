using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Federate.Core;
using Federate.Core.SecureAggregation;

// Secure aggregation against plain FedAvg, one round in this process: server time (round time minus the clients'
// time, clients run one after the other), client time per client, and bytes each client uploads (tensor and config
// payload bytes of its replies) against the plaintext update. Usage: [clients,params ...] [--repeat N].
// Default: 10x100000 10x1000000 100x100000 100x1000000.
var configs = new List<(int Clients, int Params)>();
int repeat = 3;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--repeat")
    {
        repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
        continue;
    }

    var parts = args[i].Split('x', ',');
    configs.Add((int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture)));
}

if (configs.Count == 0)
{
    configs.AddRange([(10, 100_000), (10, 1_000_000), (100, 100_000), (100, 1_000_000)]);
}

// Warm up (JIT, crypto library) before anything is measured.
Bench.Run(5, 1000, secagg: false);
Bench.Run(5, 1000, secagg: true);
Console.WriteLine($"secure aggregation (SecAgg+, defaults: 32-bit modulus, degree 2*ceil(log2 n)) vs plain FedAvg, one round, median of {repeat}; {Environment.ProcessorCount} cores");
Console.WriteLine("clients  params     | plain server ms | secagg server ms | overhead ms | ratio | client ms plain / secagg | upload bytes/client plain / secagg | ratio");
foreach (var (clients, parameters) in configs)
{
    Bench.StageMs.Clear();
    var plain = Enumerable.Range(0, repeat).Select(_ => Bench.Run(clients, parameters, secagg: false)).ToArray();
    var secure = Enumerable.Range(0, repeat).Select(_ => Bench.Run(clients, parameters, secagg: true)).ToArray();
    double ps = Bench.Median(plain.Select(r => r.ServerMs)), ss = Bench.Median(secure.Select(r => r.ServerMs));
    double pc = Bench.Median(plain.Select(r => r.ClientMs)), sc = Bench.Median(secure.Select(r => r.ClientMs));
    long pb = plain[0].UploadBytes, sb = secure[0].UploadBytes;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{clients,7}  {parameters,9}  | {ps,15:0.0} | {ss,16:0.0} | {ss - ps,11:0.0} | {ss / ps,5:0.0} | {pc,10:0.0} / {sc,-11:0.0} | {pb,15} / {sb,-16} | {(double)sb / pb:0.0000}"));
    Console.WriteLine("    server ms by stage (median): " + string.Join(", ", Bench.StageMs.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {Bench.Median(kv.Value):0.0}"))));
}

internal static class Bench
{
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }

    public static (double ServerMs, double ClientMs, long UploadBytes) Run(int clients, int parameters, bool secagg)
    {
        var global = new ArrayRecord { { "w", Tensor.FromArray(new float[parameters], parameters) } };
        var apps = new Dictionary<long, IClientApp>();
        for (long node = 1; node <= clients; node++)
        {
            var step = new StepClient(node);
            apps[node] = secagg ? step.ToClientApp(new SecAggPlusClient().Mod) : step.ToClientApp();
        }

        var grid = new TimedGrid(apps);
        var options = new RunOptions { Rounds = 1, RunId = "bench", Seed = 1 };
        options.Stages.RemoveAt(1); // no evaluate stage: train (or its secure stages) only
        if (secagg)
        {
            SecAggPlusWorkflow.Apply(options, new SecAggPlusSettings());
        }

        for (int i = 0; i < options.Stages.Count; i++)
        {
            options.Stages[i] = new TimedStage(options.Stages[i], grid);
        }

        GC.Collect();
        var result = new RunDriver(grid, new FedAvg(), options).RunAsync(global).GetAwaiter().GetResult();
        var round = result.History.Rounds[0];
        if (round.Results != clients)
        {
            throw new InvalidOperationException($"round failed: {string.Join("; ", round.Failures.Select(f => f.Reason))}");
        }

        double roundMs = round.Seconds * 1000;
        return (roundMs - grid.ClientMs, grid.ClientMs / clients, grid.UploadBytes / clients);
    }

    /// <summary>Server milliseconds per stage name, over all runs (for the breakdown line).</summary>
    public static Dictionary<string, List<double>> StageMs { get; } = [];

    private sealed class TimedStage(IRoundStage inner, TimedGrid grid) : IRoundStage
    {
        public string Name => inner.Name;

        public async ValueTask RunAsync(RoundExecution round, CancellationToken cancellationToken)
        {
            double clients = grid.ClientMs;
            var watch = Stopwatch.StartNew();
            await inner.RunAsync(round, cancellationToken);
            double server = watch.Elapsed.TotalMilliseconds - (grid.ClientMs - clients);
            (StageMs.TryGetValue(Name, out var list) ? list : StageMs[Name] = []).Add(server);
        }
    }

    private sealed class StepClient(long node) : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => new();

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
        {
            var w = parameters["w"].AsSpan<float>().ToArray();
            var rng = new Random((int)node);
            for (int i = 0; i < w.Length; i += 1)
            {
                w[i] += (float)(rng.NextDouble() - 0.5) * 0.1f;
            }

            return new FitResult(new ArrayRecord { { "w", Tensor.FromArray(w, w.Length) } }, 100 + node, new MetricRecord { ["loss"] = 1 });
        }

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) => new(0, 1, new MetricRecord());
    }

    // Clients one after the other; their time (including local training) is measured and left out of server time.
    private sealed class TimedGrid(IReadOnlyDictionary<long, IClientApp> apps) : IGrid
    {
        public double ClientMs { get; private set; }

        public long UploadBytes { get; private set; }

        public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<NodeInfo>>([.. apps.Keys.Order().Select(id => new NodeInfo(id, $"n{id}"))]);

        public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var m in instructions)
            {
                var watch = Stopwatch.StartNew();
                var reply = await apps[m.Metadata.DestinationNodeId].HandleAsync(m, cancellationToken);
                ClientMs += watch.Elapsed.TotalMilliseconds;
                UploadBytes += Payload(reply);
                yield return reply;
            }
        }

        private static long Payload(Message reply)
        {
            var content = reply.Content!;
            long bytes = content.Arrays.Values.Sum(a => a.ByteLength);
            bytes += content.Configs.Values.SelectMany(c => c).Sum(kv => kv.Value.Kind == ConfigValueKind.Bytes ? kv.Value.AsBytes().Length : 8);
            return bytes;
        }
    }
}
