using System.Globalization;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// A server SIGKILLed at several moments and restarted with the same --state-dir finishes the run exactly as an
/// uninterrupted one: same final model, rounds 1..8 once each.
/// </summary>
public sealed class DurabilityTests(ITestOutputHelper log)
{
    private const int Rounds = 8;

    // Kills are fault points (the server SIGKILLs itself at an exact point), so no test here depends on how long a
    // round lasts; the wider MLP and many local epochs keep rounds long enough for a kill mid-round to mean something.
    private const string Model = "mlp:256,256";

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static string[] ServerArgs(int port, string outDir, string stateDir) =>
        Args.ServerArgs(port, outDir, "--dataset", "digits", "--min-clients", "2", "--rounds", S(Rounds), "--seed", "7", "--strategy", "fedadam", "--state-dir", stateDir, "--model", Model, "--config", "local_epochs=60");

    private static string[] ClientArgs(int port, int partition) =>
        Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", S(partition), "--num-partitions", "2", "--seed", "7", "--model", Model);

    [Fact]
    public async Task Server_KilledThreeTimes_ResumesAndEndsLikeUninterruptedRun()
    {
        using var dir = new TempDir();
        var timeout = TimeSpan.FromSeconds(90);

        // The reference: an uninterrupted run, at the same time on another port.
        int refPort = FederateProcess.FreePort();
        await using var reference = FederateProcess.Start("ref-server", log, ServerArgs(refPort, dir["ref"], dir["ref-state"]));
        await using var r0 = FederateProcess.Start("ref-client0", log, ClientArgs(refPort, 0));
        await using var r1 = FederateProcess.Start("ref-client1", log, ClientArgs(refPort, 1));

        int port = FederateProcess.FreePort();
        await using var c0 = FederateProcess.Start("client0", log, ClientArgs(port, 0));
        await using var c1 = FederateProcess.Start("client1", log, ClientArgs(port, 1));

        // Kill points: right after round 2 is committed, right after round 5 is committed, and as round 7 starts. The
        // server SIGKILLs itself at each (a fault point), so a busy machine cannot let it run on past the kill.
        (string Point, int Round)[] killPoints = [("checkpoint-commit", 2), ("checkpoint-commit", 5), ("round-start", 7)];
        var resumedAfter = new List<string>();
        for (int i = 0; i < killPoints.Length; i++)
        {
            var (point, round) = killPoints[i];
            var fault = new Dictionary<string, string> { [Core.Diagnostics.FaultPoints.Variable] = $"{point}:{round}:1" };
            var server = FederateProcess.Start($"server{i}", log, fault, ServerArgs(port, dir["out"], dir["state"]));
            try
            {
                if (i > 0)
                {
                    resumedAfter.Add(await server.WaitForLineAsync("state: resuming run", timeout));
                }

                await server.WaitForLineAsync($"fault: SIGKILL at {point} (round {round},", timeout);
                Assert.NotEqual(0, await server.WaitForExitAsync(timeout));
            }
            finally
            {
                await server.DisposeAsync();
            }
        }

        await using var last = FederateProcess.Start("server-final", log, ServerArgs(port, dir["out"], dir["state"]));
        resumedAfter.Add(await last.WaitForLineAsync("state: resuming run", timeout));
        Assert.Equal(0, await last.WaitForExitAsync(timeout));
        Assert.Equal(0, await reference.WaitForExitAsync(timeout));
        foreach (var c in new[] { c0, c1, r0, r1 })
        {
            Assert.Equal(0, await c.WaitForExitAsync(timeout));
        }

        // Each restart resumes after the last round committed before the kill, and the final process never runs a
        // completed round again.
        var resumed = resumedAfter.Select(l => int.Parse(System.Text.RegularExpressions.Regex.Match(l, @"after round (\d+)").Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        log.WriteLine($"resumed after rounds {string.Join(", ", resumed)}");
        Assert.Equal([2, 5, 6], resumed);
        Assert.DoesNotContain($"round {resumed[2]} started", last.Output, StringComparison.Ordinal);
        Assert.Contains($"round {resumed[2] + 1} started", last.Output, StringComparison.Ordinal);

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        var expected = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["ref"], "history.json")));
        Assert.Equal(Enumerable.Range(1, Rounds), history.Rounds.Select(r => r.Round));
        Assert.Equal(StopReasons.RoundLimit, history.StopReason);
        for (int r = 0; r < Rounds; r++)
        {
            Assert.Equal(expected.Rounds[r].Evaluate["accuracy"], history.Rounds[r].Evaluate["accuracy"], 6);
        }

        var model = Safetensors.ReadFile(Path.Combine(dir["out"], "model.safetensors"), out _);
        var want = Safetensors.ReadFile(Path.Combine(dir["ref"], "model.safetensors"), out _);
        double maxDiff = 0;
        foreach (var (name, tensor) in want)
        {
            var a = tensor.AsSpan<float>();
            var b = model[name].AsSpan<float>();
            Assert.Equal(a.Length, b.Length);
            for (int k = 0; k < a.Length; k++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(a[k] - b[k]));
            }
        }

        log.WriteLine($"largest difference from the uninterrupted run: {maxDiff:G3}");
        Assert.True(maxDiff <= 1e-6, $"largest difference {maxDiff}");

        // The state directory knows the run: one run, finished, 8 rounds, 4 server processes.
        await using var list = FederateProcess.Start("runs", log, "runs", "list", "--state-dir", dir["state"], "--json");
        Assert.Equal(0, await list.WaitForExitAsync(timeout));
        Assert.Contains("\"status\":\"finished\"", list.Output, StringComparison.Ordinal);
        Assert.Contains("\"rounds_done\":8", list.Output, StringComparison.Ordinal);
        Assert.Contains("\"server_processes\":4", list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_CentralDpKilled_ResumesWithSamePrivacyLedger()
    {
        using var dir = new TempDir();
        var timeout = TimeSpan.FromSeconds(90);
        string[] Server(int port, string outDir, string stateDir) =>
            Args.ServerArgs(port, outDir, "--dataset", "digits", "--min-clients", "2", "--rounds", "5", "--seed", "9", "--state-dir", stateDir, "--model", Model,
                "--config", "local_epochs=60", "--central-dp", "adaptive", "--central-noise-multiplier", "0.8", "--clip-norm", "0.5");

        int refPort = FederateProcess.FreePort();
        await using var reference = FederateProcess.Start("ref-server", log, Server(refPort, dir["ref"], dir["ref-state"]));
        await using var r0 = FederateProcess.Start("ref-client0", log, ClientArgs(refPort, 0));
        await using var r1 = FederateProcess.Start("ref-client1", log, ClientArgs(refPort, 1));

        int port = FederateProcess.FreePort();
        await using var c0 = FederateProcess.Start("client0", log, ClientArgs(port, 0));
        await using var c1 = FederateProcess.Start("client1", log, ClientArgs(port, 1));
        var fault = new Dictionary<string, string> { [Core.Diagnostics.FaultPoints.Variable] = "checkpoint-commit:1:1" };
        var first = FederateProcess.Start("server0", log, fault, Server(port, dir["out"], dir["state"]));
        try
        {
            await first.WaitForLineAsync("fault: SIGKILL at checkpoint-commit (round 1,", timeout);
            Assert.NotEqual(0, await first.WaitForExitAsync(timeout));
        }
        finally
        {
            await first.DisposeAsync();
        }

        await using var second = FederateProcess.Start("server1", log, Server(port, dir["out"], dir["state"]));
        await second.WaitForLineAsync("state: resuming run", timeout);
        Assert.Equal(0, await second.WaitForExitAsync(timeout));
        Assert.Equal(0, await reference.WaitForExitAsync(timeout));

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        var expected = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["ref"], "history.json")));
        Assert.Equal(Enumerable.Range(1, 5), history.Rounds.Select(r => r.Round));
        for (int r = 0; r < 5; r++)
        {
            Assert.Equal(expected.Rounds[r].Train.Count, history.Rounds[r].Train.Count);
            foreach (var (name, value) in expected.Rounds[r].Train)
            {
                Assert.True(Math.Abs(value - history.Rounds[r].Train[name]) <= 1e-9, $"round {r + 1} train {name}: {value} vs {history.Rounds[r].Train[name]}");
            }
        }

        var model = Safetensors.ReadFile(Path.Combine(dir["out"], "model.safetensors"), out _);
        var want = Safetensors.ReadFile(Path.Combine(dir["ref"], "model.safetensors"), out _);
        foreach (var (name, tensor) in want)
        {
            var a = tensor.AsSpan<float>();
            var b = model[name].AsSpan<float>();
            for (int k = 0; k < a.Length; k++)
            {
                Assert.True(Math.Abs(a[k] - b[k]) <= 1e-6, $"{name}[{k}]: {a[k]} vs {b[k]}");
            }
        }
    }
}
