using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Federate.Core;
using Federate.Core.Diagnostics;

namespace Federate.Chaos;

/// <summary>
/// Seeded chaos trials of a durable deployment: a real <c>federate server --state-dir</c> with real
/// <c>federate client</c> processes (digits, one partition each). Server-kill trials SIGKILL the server once, at a
/// point drawn from the seed (through the off-by-default <see cref="FaultPoints"/> hook, or from outside after a
/// drawn delay), restart it with the same command and check the final model is byte-identical to an uninterrupted
/// reference run, every round is counted once and the audit log is complete. Client-kill trials kill and restart
/// one client; network-fault trials cut or stall one connection mid-stream through a <see cref="FaultProxy"/>.
/// </summary>
public sealed partial class ChaosRunner(ChaosSettings settings)
{
    private readonly ChaosSettings _s = settings ?? throw new ArgumentNullException(nameof(settings));
    private byte[] _reference = [];
    private double _referenceSeconds;
    private int _chunksPerUpdate;
    private long _modelBytes;

    /// <summary>Runs the reference twice, then every trial (server kills, client kills, network faults), one at a time.</summary>
    public async Task<ChaosReport> RunAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_s.WorkDirectory);
        var first = await ReferenceAsync("reference-a", cancellationToken).ConfigureAwait(false);
        var second = await ReferenceAsync("reference-b", cancellationToken).ConfigureAwait(false);
        _reference = first.Model;
        _referenceSeconds = first.Seconds;
        var parameters = Safetensors.ReadFile(Path.Combine(_s.WorkDirectory, "reference-a", "out", "model.safetensors"), out _);
        _chunksPerUpdate = parameters.Sum(kv => (int)Math.Max(1, (kv.Value.ByteLength + _s.ChunkSize - 1) / _s.ChunkSize));
        _modelBytes = parameters.ByteLength;
        _s.Log($"reference: {first.Seconds:0.0} s, {_chunksPerUpdate} chunks per update, second run {(first.Model.AsSpan().SequenceEqual(second.Model) ? "identical" : "DIFFERENT")}");

        var rng = new Random(_s.Seed);
        var trials = new List<TrialResult>();
        foreach (var (kind, count) in new[] { (TrialKind.ServerKill, _s.ServerKills), (TrialKind.ClientKill, _s.ClientKills), (TrialKind.NetworkFault, _s.NetworkFaults) })
        {
            for (int i = 1; i <= count; i++)
            {
                var result = kind switch
                {
                    TrialKind.ServerKill => await ServerKillAsync(i, rng, cancellationToken).ConfigureAwait(false),
                    TrialKind.ClientKill => await ClientKillAsync(i, rng, cancellationToken).ConfigureAwait(false),
                    _ => await NetworkFaultAsync(i, rng, cancellationToken).ConfigureAwait(false),
                };
                trials.Add(result);
                _s.Log(string.Create(CultureInfo.InvariantCulture, $"{ChaosReport.Name(kind)} #{i}: {result.Planned} -> {result.Landed}; finished {Yes(result.Finished)}, identical {Yes(result.Identical)}, rounds once {Yes(result.RoundsOnce)}, audit {Yes(result.AuditComplete)}{(result.ResumedAfter is { } r ? $", resumed after round {r}" : "")}{(result.ShortRounds > 0 ? $", {result.ShortRounds} rounds without a client's reply" : "")} ({result.Seconds:0.0} s){(result.Problem is { } p ? $": {p}" : "")}"));
            }
        }

        return new ChaosReport(trials, first.Model.AsSpan().SequenceEqual(second.Model), _referenceSeconds);
    }

    private static string Yes(bool value) => value ? "yes" : "NO";

    private async Task<(byte[] Model, double Seconds)> ReferenceAsync(string name, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(_s.WorkDirectory, name);
        ResetDirectory(dir);
        var watch = Stopwatch.StartNew();
        int port = ChildProcess.FreePort();
        var trial = new Deployment(_s, dir, port, port);
        await using (trial.ConfigureAwait(false))
        {
            trial.StartServer(null);
            trial.StartClients(null, -1);
            var code = await trial.Server.WaitForExitAsync(_s.TrialTimeout, cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException($"the uninterrupted reference run {dir} did not finish (exit {code?.ToString(CultureInfo.InvariantCulture) ?? "none"}):\n{string.Join('\n', trial.Server.Lines.TakeLast(20))}");
            }

            await trial.WaitForClientsAsync(cancellationToken).ConfigureAwait(false);
        }

        return (File.ReadAllBytes(Path.Combine(dir, "out", "model.safetensors")), watch.Elapsed.TotalSeconds);
    }

    private async Task<TrialResult> ServerKillAsync(int index, Random rng, CancellationToken cancellationToken)
    {
        var point = _s.ServerKillPoints[rng.Next(_s.ServerKillPoints.Count)];
        int round = rng.Next(1, _s.Rounds + 1);
        int hit = point switch
        {
            "upload" or "fold" => rng.Next(1, (_chunksPerUpdate * _s.Clients) + 1),
            "evaluate" => rng.Next(1, _s.Clients + 1),
            _ => 1,
        };
        double delay = rng.NextDouble() * _referenceSeconds;
        string planned = point switch
        {
            "timed" => string.Create(CultureInfo.InvariantCulture, $"timed {delay:0.00} s"),
            "waiting" or "finished" => point,
            _ => string.Create(CultureInfo.InvariantCulture, $"{point}:{round}:{hit}"),
        };
        string? hook = point switch
        {
            "timed" => null,
            "waiting" or "finished" => $"{point}:*:1",
            _ => planned,
        };

        var watch = Stopwatch.StartNew();
        var dir = Path.Combine(_s.WorkDirectory, string.Create(CultureInfo.InvariantCulture, $"server-kill-{index:D3}"));
        ResetDirectory(dir);
        int port = ChildProcess.FreePort();
        var trial = new Deployment(_s, dir, port, port) { Reference = _reference };
        await using (trial.ConfigureAwait(false))
        {
            trial.StartServer(hook);
            trial.StartClients(null, -1);
            string landed;
            if (hook is null)
            {
                await Task.Delay(TimeSpan.FromSeconds(delay), cancellationToken).ConfigureAwait(false);
                landed = trial.Server.HasExited ? "timed: after the end" : "timed: " + Phase(trial.Server.Lines);
                trial.Server.Kill();
                await trial.Server.WaitForExitAsync(_s.TrialTimeout, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var code = await trial.Server.WaitForExitAsync(_s.TrialTimeout, cancellationToken).ConfigureAwait(false);
                landed = trial.Server.Lines.Any(l => l.StartsWith("fault: SIGKILL at", StringComparison.Ordinal)) ? point
                    : $"{point}: not reached (exit {code?.ToString(CultureInfo.InvariantCulture) ?? "none"})";
                trial.Server.Kill();
            }

            // The same command again. A server killed before it recorded the run starts it afresh (no resume line).
            trial.StartServer(null);
            var result = await trial.FinishAsync(index, TrialKind.ServerKill, planned, landed, null, watch, cancellationToken).ConfigureAwait(false);
            var resumedLine = trial.Server.Lines.FirstOrDefault(l => l.Contains("state: resuming run", StringComparison.Ordinal) || l.Contains("already finished", StringComparison.Ordinal));
            int? resumedAfter = resumedLine is not null && ResumedAfter().Match(resumedLine) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
                : resumedLine is not null ? _s.Rounds : null;
            return result with { ResumedAfter = resumedAfter };
        }
    }

    private async Task<TrialResult> ClientKillAsync(int index, Random rng, CancellationToken cancellationToken)
    {
        int victim = rng.Next(_s.Clients);
        bool upload = rng.Next(2) == 0;
        int hit = upload ? rng.Next(1, (_chunksPerUpdate * _s.Rounds) + 1) : rng.Next(1, (2 * _s.Rounds) + 1);
        var hook = string.Create(CultureInfo.InvariantCulture, $"{(upload ? "client-upload" : "client-submit")}:*:{hit}");
        var planned = string.Create(CultureInfo.InvariantCulture, $"client {victim} {hook}");

        var watch = Stopwatch.StartNew();
        var dir = Path.Combine(_s.WorkDirectory, string.Create(CultureInfo.InvariantCulture, $"client-kill-{index:D3}"));
        ResetDirectory(dir);
        int port = ChildProcess.FreePort();
        var trial = new Deployment(_s, dir, port, port) { Reference = _reference };
        await using (trial.ConfigureAwait(false))
        {
            trial.StartServer(null);
            trial.StartClients(hook, victim);
            var code = await trial.Clients[victim].WaitForExitAsync(_s.TrialTimeout, cancellationToken).ConfigureAwait(false);
            var fault = trial.Clients[victim].Lines.FirstOrDefault(l => l.StartsWith("fault: SIGKILL at", StringComparison.Ordinal));
            string landed = fault is null ? $"not reached (client exit {code?.ToString(CultureInfo.InvariantCulture) ?? "none"})"
                : (upload ? "client mid-upload" : "client before submitting");
            if (fault is not null)
            {
                landed += ", server: " + Phase(trial.Server.Lines);
                await trial.Clients[victim].DisposeAsync().ConfigureAwait(false);
                trial.Clients[victim] = trial.StartClient(victim, null);
            }

            return await trial.FinishAsync(index, TrialKind.ClientKill, planned, landed, null, watch, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<TrialResult> NetworkFaultAsync(int index, Random rng, CancellationToken cancellationToken)
    {
        bool upstream = rng.Next(2) == 0;
        long span = (upstream ? 1 : 2) * _modelBytes * _s.Rounds;
        var fault = new ProxyFault(rng.Next(_s.Clients), upstream, 1 + rng.NextInt64(span), rng.Next(2) == 0 ? null : TimeSpan.FromSeconds(0.5 + (rng.NextDouble() * 4.5)));

        var watch = Stopwatch.StartNew();
        var dir = Path.Combine(_s.WorkDirectory, string.Create(CultureInfo.InvariantCulture, $"network-fault-{index:D3}"));
        ResetDirectory(dir);
        int port = ChildProcess.FreePort();
        var proxy = new FaultProxy(port, fault);
        await using (proxy.ConfigureAwait(false))
        {
            var trial = new Deployment(_s, dir, port, proxy.Port) { Reference = _reference };
            await using (trial.ConfigureAwait(false))
            {
                // Clients connect once the server listens: a proxy accepts at once, and a client whose first
                // connection is closed before the HTTP/2 handshake takes the server for a TLS one and gives up.
                trial.StartServer(null);
                await trial.Server.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), _s.TrialTimeout, cancellationToken).ConfigureAwait(false);
                trial.StartClients(null, -1);
                var result = await trial.FinishAsync(index, TrialKind.NetworkFault, fault.ToString(), "", null, watch, cancellationToken).ConfigureAwait(false);
                string landed = proxy.Fired ? $"{(fault.Stall is null ? "cut" : "stall")} {(upstream ? "upload direction" : "download direction")}" : "not reached";
                return result with { Landed = landed };
            }
        }
    }

    // Where a server was, from its last log lines (verbose): the phase of the round in flight.
    private static string Phase(IReadOnlyList<string> lines)
    {
        for (int i = lines.Count - 1; i >= 0; i--)
        {
            var l = lines[i];
            string? phase =
                l.Contains("run finished", StringComparison.Ordinal) || l.StartsWith("wrote ", StringComparison.Ordinal) ? "finishing"
                : l.Contains(" Evaluate ", StringComparison.Ordinal) ? "evaluate"
                : l.Contains("received Train", StringComparison.Ordinal) ? "train replies (upload, fold)"
                : l.Contains("sent Train", StringComparison.Ordinal) || l.Contains(" started: ", StringComparison.Ordinal) ? "training (tasks sent)"
                : RoundDone().IsMatch(l) ? "between rounds (checkpointed)"
                : l.Contains("joined", StringComparison.Ordinal) || l.Contains("waiting for", StringComparison.Ordinal) || l.Contains("left:", StringComparison.Ordinal) ? "waiting for clients"
                : l.Contains("listening on", StringComparison.Ordinal) || l.Contains("state:", StringComparison.Ordinal) ? "starting"
                : null;
            if (phase is not null)
            {
                return phase;
            }
        }

        return "starting";
    }

    private static void ResetDirectory(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
    }

    [GeneratedRegex(@"after round (\d+)")]
    private static partial Regex ResumedAfter();

    [GeneratedRegex(@"\] round \d+: \d+ results")]
    private static partial Regex RoundDone();
}
