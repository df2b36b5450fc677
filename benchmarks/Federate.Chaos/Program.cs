// Chaos runner: seeded server kills, client kills and network faults against a real durable deployment
// (federate server --state-dir with federate client processes), checked against an uninterrupted reference run;
// and a soak run (many rounds, clients leaving and joining, server memory, threads and handles sampled).
//
// Usage: dotnet benchmarks/Federate.Chaos/bin/Release/net10.0/Federate.Chaos.dll [--server-kills N] [--client-kills N]
//          [--network-faults N] [--seed N] [--rounds R] [--clients N] [--node-expiry S] [--keep-all 1] [--work DIR] [--federate PATH/federate.dll]
//        dotnet .../Federate.Chaos.dll soak [--rounds 1000] [--processes 4] [--clients-per-process 5] [--min-clients 10]
//          [--churn-every 20] [--sample-every 50] [--work DIR] [--federate PATH/federate.dll]
// Chaos exit code: 0 when every server-kill trial ended byte-identical to the reference and every trial finished
// with rounds 1..R once and a complete audit log; 1 otherwise; 2 for a bad option.
using System.Globalization;
using Federate.Chaos;

bool soak = args.Length > 0 && args[0] == "soak";
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = soak ? 1 : 0; i < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"error: expected --option value pairs, got '{args[i]}'; see the usage at the top of benchmarks/Federate.Chaos/Program.cs");
        return 2;
    }

    options[args[i][2..]] = args[i + 1];
}

int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var dll = Path.GetFullPath(options.GetValueOrDefault("federate") ?? Path.Combine(FindRoot(), "src/Federate.Cli/bin/Release/net10.0/federate.dll"));
if (!File.Exists(dll))
{
    Console.Error.WriteLine($"error: {dll} not found; build it first: dotnet build src/Federate.Cli -c Release");
    return 2;
}

void Log(string line) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");

// Ctrl+C or SIGTERM stops the run and the processes it started (each is killed when its trial unwinds).
using var stop = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

if (soak)
{
    var soakSettings = new SoakSettings
    {
        FederateDll = dll,
        WorkDirectory = Path.GetFullPath(options.GetValueOrDefault("work") ?? Path.Combine(Path.GetTempPath(), "federate-soak")),
        Rounds = Int("rounds", 1000),
        Processes = Int("processes", 4),
        ClientsPerProcess = Int("clients-per-process", 5),
        MinClients = Int("min-clients", 10),
        ChurnEvery = Int("churn-every", 20),
        SampleEvery = Int("sample-every", 50),
        Log = Log,
    };
    Console.WriteLine($"soak: {soakSettings.Rounds} rounds of {soakSettings.Model} on digits, {soakSettings.Processes} client processes x {soakSettings.ClientsPerProcess} clients, one process leaves and rejoins every {soakSettings.ChurnEvery} rounds; {Environment.ProcessorCount} cores");
    var samples = await new SoakRunner(soakSettings).RunAsync(stop.Token);
    Console.WriteLine();
    Console.WriteLine(SoakRunner.ToTable(samples));
    return 0;
}

var settings = new ChaosSettings
{
    FederateDll = dll,
    WorkDirectory = Path.GetFullPath(options.GetValueOrDefault("work") ?? Path.Combine(Path.GetTempPath(), "federate-chaos")),
    Seed = Int("seed", 1),
    ServerKills = Int("server-kills", 50),
    ClientKills = Int("client-kills", 10),
    NetworkFaults = Int("network-faults", 10),
    Rounds = Int("rounds", 5),
    Clients = Int("clients", 3),
    NodeExpirySeconds = Int("node-expiry", 10),
    KeepAll = Int("keep-all", 0) == 1,
    Log = Log,
};
Console.WriteLine($"chaos: seed {settings.Seed}, {settings.ServerKills} server kills, {settings.ClientKills} client kills, {settings.NetworkFaults} network faults; {settings.Clients} clients x {settings.Rounds} rounds of {settings.Model} on digits; {Environment.ProcessorCount} cores; work {settings.WorkDirectory}");
var report = await new ChaosRunner(settings).RunAsync(stop.Token);
Console.WriteLine();
Console.WriteLine(report.ToTable());
bool ok = report.ReferenceDeterministic && report.Trials.All(t => t.Consistent) && report.Of(TrialKind.ServerKill).All(t => t.Identical);
return ok ? 0 : 1;

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Federate.slnx")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? Directory.GetCurrentDirectory();
}
