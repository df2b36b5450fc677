using System.Diagnostics;
using System.Globalization;
using Federate.Core.Diagnostics;

namespace Federate.Chaos;

/// <summary>
/// One trial's deployment: the server process (restarted with the same command), its client processes, their
/// folders, and the final checks. Clients reach the server on <c>clientPort</c> (the server's port, or a proxy's).
/// </summary>
internal sealed class Deployment(ChaosSettings settings, string directory, int serverPort, int clientPort) : IAsyncDisposable
{
    private readonly List<ChildProcess> _servers = [];

    public ChildProcess Server => _servers[^1];

    public ChildProcess[] Clients { get; } = new ChildProcess[settings.Clients];

    public void StartServer(string? hook)
    {
        string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        string[] args =
        [
            "server", "--host", "127.0.0.1", "--port", S(serverPort), "--insecure", "--no-inspector", "--verbose",
            "--out", Path.Combine(directory, "out"), "--state-dir", Path.Combine(directory, "state"),
            "--dataset", "digits", "--model", settings.Model, "--min-clients", S(settings.Clients), "--rounds", S(settings.Rounds),
            "--seed", S(settings.DeploymentSeed), "--chunk-size", S(settings.ChunkSize),
            "--heartbeat-interval", "0.5", "--node-expiry", S(settings.NodeExpirySeconds), "--round-timeout", "60",
        ];
        _servers.Add(ChildProcess.Start(string.Create(CultureInfo.InvariantCulture, $"server{_servers.Count}"), settings.FederateDll, args, Hook(hook)));
    }

    public void StartClients(string? hook, int victim)
    {
        for (int i = 0; i < Clients.Length; i++)
        {
            Clients[i] = StartClient(i, i == victim ? hook : null);
        }
    }

    public ChildProcess StartClient(int partition, string? hook)
    {
        string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        string[] args =
        [
            "client", "--server", $"127.0.0.1:{S(clientPort)}", "--insecure", "--no-transfer-endpoint", "--dataset", "digits", "--model", settings.Model,
            "--dataset-id", S(partition), "--num-partitions", S(Clients.Length), "--seed", S(settings.DeploymentSeed),
            "--chunk-size", S(settings.ChunkSize), "--retry-interval", "0.2", "--max-retry-interval", "0.5", "--name", $"site-{S(partition)}",
        ];
        return ChildProcess.Start($"client{S(partition)}", settings.FederateDll, args, Hook(hook));
    }

    /// <summary>Waits for every client to end (they are told the run finished); problems for those that did not exit 0.</summary>
    public async Task<List<string>> WaitForClientsAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (var client in Clients)
        {
            var code = await client.WaitForExitAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                problems.Add(code is null ? $"{client.Name} still running 20 s after the server ended (stopped)" : $"{client.Name} exited {code}: {(client.Lines is [.., var last] ? last : "")}");
                client.Kill();
            }
        }

        return problems;
    }

    /// <summary>Waits for the server to finish, then for the clients, and checks the outputs.</summary>
    public async Task<TrialResult> FinishAsync(int index, TrialKind kind, string planned, string landed, int? resumedAfter, Stopwatch watch, CancellationToken cancellationToken)
    {
        var code = await Server.WaitForExitAsync(settings.TrialTimeout, cancellationToken).ConfigureAwait(false);
        var problems = new List<string>();
        if (code != 0)
        {
            problems.Add($"server exit {code?.ToString(CultureInfo.InvariantCulture) ?? "none (still running; stopped)"}: {(Server.Lines is [.., var last] ? last : "")}");
            Server.Kill();
        }

        problems.AddRange(await WaitForClientsAsync(cancellationToken).ConfigureAwait(false));
        var check = code == 0 ? DeploymentCheck.Inspect(Path.Combine(directory, "out"), Path.Combine(directory, "state"), Reference, settings.Rounds, settings.Clients) : new DeploymentCheck(false, false, false, []);
        // Only a server kill promises the reference's model; a lost client reply changes a round by design.
        problems.AddRange(kind == TrialKind.ServerKill ? check.Problems : check.Problems.Where(p => !p.StartsWith("model differs", StringComparison.Ordinal)));
        var result = new TrialResult(index, kind, planned, landed, code == 0, check.Identical, check.RoundsOnce, check.AuditComplete, resumedAfter, problems.Count == 0 ? null : string.Join("; ", problems), watch.Elapsed.TotalSeconds) { ShortRounds = check.ShortRounds };
        if (problems.Count == 0 && !settings.KeepAll)
        {
            Delete = true;
        }
        else
        {
            WriteLogs();
        }

        return result;
    }

    /// <summary>The reference model's bytes the outputs are compared with.</summary>
    public byte[] Reference { get; init; } = [];

    private bool Delete { get; set; }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _servers.Concat(Clients.Where(c => c is not null)))
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }

        if (Delete)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Kept: a later look at it does no harm.
            }
        }
    }

    private void WriteLogs()
    {
        foreach (var process in _servers.Concat(Clients.Where(c => c is not null)))
        {
            File.WriteAllLines(Path.Combine(directory, process.Name + ".log"), process.Lines);
        }
    }

    private static Dictionary<string, string>? Hook(string? hook) => hook is null ? null : new() { [FaultPoints.Variable] = hook };
}
