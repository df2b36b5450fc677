using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Federate.Chaos;

/// <summary>
/// A soak run: a real <c>federate server --state-dir</c> runs many rounds of a small model while client processes
/// (each with several <c>--virtual-clients</c>) leave, by Ctrl+C or SIGKILL in turn, and join again; the server's
/// resident memory, threads and open handles are sampled from <c>/proc</c> every few rounds.
/// </summary>
public sealed partial class SoakRunner(SoakSettings settings)
{
    private readonly SoakSettings _s = settings ?? throw new ArgumentNullException(nameof(settings));

    /// <summary>Runs the soak; the samples in round order (the last one after the final round).</summary>
    public async Task<IReadOnlyList<SoakSample>> RunAsync(CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(_s.WorkDirectory))
        {
            Directory.Delete(_s.WorkDirectory, recursive: true);
        }

        Directory.CreateDirectory(_s.WorkDirectory);
        string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        int port = ChildProcess.FreePort();
        int total = _s.Processes * _s.ClientsPerProcess;
        string[] serverArgs =
        [
            "server", "--host", "127.0.0.1", "--port", S(port), "--insecure", "--inspector-port", "0",
            "--out", Path.Combine(_s.WorkDirectory, "out"), "--state-dir", Path.Combine(_s.WorkDirectory, "state"),
            "--dataset", "digits", "--model", _s.Model, "--min-clients", S(_s.MinClients), "--rounds", S(_s.Rounds),
            "--local-epochs", "1", "--seed", "5", "--heartbeat-interval", "0.5", "--node-expiry", "2", "--round-timeout", "10",
            "--min-results", "1",
        ];
        string[] ClientArgs(int process) =>
        [
            "client", "--server", $"127.0.0.1:{S(port)}", "--insecure", "--dataset", "digits", "--model", _s.Model,
            "--dataset-id", S(process * _s.ClientsPerProcess), "--virtual-clients", S(_s.ClientsPerProcess), "--num-partitions", S(total),
            "--seed", "5", "--retry-interval", "0.2", "--max-retry-interval", "0.5", "--name", $"soak-{S(process)}",
        ];

        var watch = Stopwatch.StartNew();
        var samples = new List<SoakSample>();
        int connected = 0;
        int serverPid = 0;

        // Sampled the moment the server prints "round N: ..." (on the output reading thread), not when this loop gets
        // there: the server does not wait for the churn below.
        void OnServerLine(string line)
        {
            if (Connected().Match(line) is { Success: true } c)
            {
                connected = int.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            if (RoundDone().Match(line) is not { Success: true } m)
            {
                return;
            }

            int round = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (serverPid != 0 && (round == 1 || round % _s.SampleEvery == 0 || round == _s.Rounds))
            {
                var sample = Sample(serverPid, round, watch.Elapsed.TotalSeconds, connected);
                lock (samples)
                {
                    samples.Add(sample);
                }

                _s.Log(string.Create(CultureInfo.InvariantCulture, $"round {sample.Round,5}: {sample.Seconds,7:0.0} s, RSS {sample.RssMiB,6:0.0} MiB (peak {sample.PeakRssMiB:0.0}), {sample.Threads} threads, {sample.Handles} handles, {sample.Connected} clients connected"));
            }
        }

        await using var server = ChildProcess.Start("server", _s.FederateDll, serverArgs, onLine: OnServerLine);
        serverPid = server.Id;
        var clients = new ChildProcess[_s.Processes];
        try
        {
            for (int p = 0; p < clients.Length; p++)
            {
                clients[p] = ChildProcess.Start($"clients{S(p)}", _s.FederateDll, ClientArgs(p));
            }

            int churns = 0;
            for (int round = _s.ChurnEvery; round < _s.Rounds; round += _s.ChurnEvery)
            {
                _ = await server.WaitForLineAsync(RoundLine(round), _s.RoundTimeout * _s.ChurnEvery, cancellationToken).ConfigureAwait(false)
                    ?? throw new TimeoutException($"round {round} did not complete in time; server's last lines:\n{string.Join('\n', server.Lines.TakeLast(15))}");

                // One client process leaves (Ctrl+C: it says goodbye; SIGKILL: the server notices its silence) and joins again.
                int p = churns % clients.Length;
                if (churns % 2 == 0)
                {
                    _ = Interrupt(clients[p].Id);
                    await clients[p].WaitForExitAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
                }

                await clients[p].DisposeAsync().ConfigureAwait(false);
                clients[p] = ChildProcess.Start($"clients{S(p)}", _s.FederateDll, ClientArgs(p));
                churns++;
            }

            var code = await server.WaitForExitAsync(_s.RoundTimeout * _s.ChurnEvery, cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException($"the soak server exited {code?.ToString(CultureInfo.InvariantCulture) ?? "(still running)"}; its last lines:\n{string.Join('\n', server.Lines.TakeLast(15))}");
            }

            _s.Log(string.Create(CultureInfo.InvariantCulture, $"{churns} times a client process left and joined again; server exit 0 after {watch.Elapsed.TotalSeconds:0} s"));
            lock (samples)
            {
                return [.. samples.OrderBy(x => x.Round)];
            }
        }
        finally
        {
            foreach (var c in clients.Where(c => c is not null))
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The samples as a markdown table, with round 1,000 (the last) against round 100 (or the second sample).</summary>
    public static string ToTable(IReadOnlyList<SoakSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var sb = new StringBuilder();
        sb.AppendLine("| round | s | VmRSS MiB | VmHWM MiB | threads | open handles | clients connected |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var x in samples)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {x.Round} | {x.Seconds:0} | {x.RssMiB:0.0} | {x.PeakRssMiB:0.0} | {x.Threads} | {x.Handles} | {x.Connected} |");
        }

        if (samples.Count >= 3)
        {
            var baseline = samples.FirstOrDefault(x => x.Round == 100) ?? samples[1];
            var last = samples[^1];
            var later = samples.Where(x => x.Round >= baseline.Round).ToList();
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"VmRSS at round {last.Round} / round {baseline.Round}: {last.RssMiB / baseline.RssMiB:0.000} ({last.RssMiB:0.0} / {baseline.RssMiB:0.0} MiB); from round {baseline.Round} on: threads {later.Min(x => x.Threads)}..{later.Max(x => x.Threads)}, open handles {later.Min(x => x.Handles)}..{later.Max(x => x.Handles)}");
        }

        return sb.ToString();
    }

    private static Func<string, bool> RoundLine(int round)
    {
        var prefix = string.Create(CultureInfo.InvariantCulture, $"] round {round}: ");
        return l => l.Contains(prefix, StringComparison.Ordinal);
    }

    private static SoakSample Sample(int pid, int round, double seconds, int connected)
    {
        double rss = 0, hwm = 0;
        int threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kib(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kib(line) / 1024.0;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        int handles = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        return new SoakSample(round, seconds, rss, hwm, threads, handles, connected);
    }

    private static long Kib(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    // SIGINT: what Ctrl+C sends; the client quits the server politely.
    private static int Interrupt(int pid) => SendSignal(pid, 2);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    [GeneratedRegex(@"\] round (\d+): ")]
    private static partial Regex RoundDone();

    [GeneratedRegex(@"\((\d+) connected\)")]
    private static partial Regex Connected();
}
