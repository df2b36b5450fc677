using System.Globalization;
using System.Text.RegularExpressions;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// <c>federate sim --state-dir</c> is durable like the server: SIGKILLed mid-run and run again with the same command,
/// it resumes after the last checkpointed round and ends with a byte-identical model; a second process on the same
/// state directory is refused while the first holds it.
/// </summary>
public sealed class SimDurabilityTests(ITestOutputHelper log)
{
    private const int Rounds = 6;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string[] SimArgs(string outDir, string? stateDir, params string[] more)
    {
        // Rounds long enough (wide MLP, many local epochs) that a kill at a round's line lands before the run ends.
        string[] args = ["sim", "--dataset", "digits", "--model", "mlp:256,256", "--clients", "2", "--partition", "iid", "--rounds", Rounds.ToString(CultureInfo.InvariantCulture),
            "--local-epochs", "25", "--seed", "5", "--out", outDir, .. more];
        return stateDir is null ? args : [.. args, "--state-dir", stateDir];
    }

    [Fact]
    public async Task Sim_KilledTwice_ResumesAndEndsByteIdentical()
    {
        // FedAdam's moments and adaptive central DP's clip norm and noise stream are state that must resume exactly.
        using var dir = new TempDir();
        string[] more = ["--strategy", "fedadam", "--central-dp", "adaptive", "--central-noise-multiplier", "0.5", "--clip-norm", "2"];

        await using (var reference = FederateProcess.Start("ref", log, SimArgs(dir["ref"], null, more)))
        {
            Assert.Equal(0, await reference.WaitForExitAsync(Timeout));
        }

        // SIGKILL right after round 2 is committed, then after round 4 (the fault point kills the process itself, so
        // a busy machine cannot let it run on past the kill); the third process finishes.
        var resumed = new List<int>();
        foreach (var (killAt, attempt) in new[] { (2, 0), (4, 1) })
        {
            var fault = new Dictionary<string, string> { [Core.Diagnostics.FaultPoints.Variable] = $"checkpoint-commit:{killAt}:1" };
            var sim = FederateProcess.Start($"sim{attempt}", log, fault, SimArgs(dir["out"], dir["state"], more));
            try
            {
                if (attempt > 0)
                {
                    resumed.Add(AfterRound(await sim.WaitForLineAsync("state: resuming run", Timeout)));
                }

                await sim.WaitForLineAsync($"fault: SIGKILL at checkpoint-commit (round {killAt},", Timeout);
                Assert.NotEqual(0, await sim.WaitForExitAsync(Timeout));
            }
            finally
            {
                await sim.DisposeAsync();
            }
        }

        await using var last = FederateProcess.Start("sim-final", log, SimArgs(dir["out"], dir["state"], more));
        resumed.Add(AfterRound(await last.WaitForLineAsync("state: resuming run", Timeout)));
        Assert.Equal(0, await last.WaitForExitAsync(Timeout));

        log.WriteLine($"resumed after rounds {string.Join(", ", resumed)}");
        Assert.Equal([2, 4], resumed);
        Assert.DoesNotContain($"round {resumed[1],3}/", last.Output, StringComparison.Ordinal);

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        Assert.Equal(Enumerable.Range(1, Rounds), history.Rounds.Select(r => r.Round));
        Assert.Equal(StopReasons.RoundLimit, history.StopReason);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["ref"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["out"], "model.safetensors")));
    }

    [Fact]
    public async Task Sim_SecondProcessOnSameStateDir_IsRefusedWithOneLine()
    {
        using var dir = new TempDir();
        // The first simulation holds as round 2 starts (a fault point): alive, its state directory locked, its run
        // unfinished, however fast or slow the machine is.
        var hold = new Dictionary<string, string> { [Core.Diagnostics.FaultPoints.Variable] = "round-start:2:1:hold" };
        await using var first = FederateProcess.Start("first", log, hold, SimArgs(dir["out"], dir["state"]));
        await first.WaitForLineAsync("fault: holding at round-start (round 2,", Timeout);
        await using var second = FederateProcess.Start("second", log, SimArgs(dir["out2"], dir["state"]));
        Assert.Equal(1, await second.WaitForExitAsync(Timeout));
        Assert.Contains("is in use by another process (pid ", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", second.Output, StringComparison.Ordinal);
        first.Kill();
        await first.WaitForExitAsync(Timeout);

        // The lock died with the killed process: the same command now resumes.
        await using var third = FederateProcess.Start("third", log, SimArgs(dir["out"], dir["state"]));
        await third.WaitForLineAsync("state: resuming run", Timeout);
        Assert.Equal(0, await third.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task Server_FinishedRunStartedAgain_SaysSoAndExitsZero_NewRunStartsAnother()
    {
        using var dir = new TempDir();
        string[] Server(int port, params string[] more) =>
            Args.ServerArgs(port, dir["out"], ["--dataset", "digits", "--min-clients", "1", "--rounds", "1", "--seed", "2", "--state-dir", dir["state"], .. more]);

        int port = FederateProcess.FreePort();
        await using (var server = FederateProcess.Start("server", log, Server(port)))
        await using (var client = FederateProcess.Start("client", log, Args.ClientArgs(port, "--dataset", "digits", "--seed", "2")))
        {
            Assert.Equal(0, await server.WaitForExitAsync(Timeout));
            Assert.Equal(0, await client.WaitForExitAsync(Timeout));
        }

        await using (var again = FederateProcess.Start("again", log, Server(FederateProcess.FreePort())))
        {
            Assert.Equal(0, await again.WaitForExitAsync(Timeout));
            Assert.Contains("with these settings already finished (round_limit, 1 rounds); give --new-run to start another", again.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("listening on", again.Output, StringComparison.Ordinal);
        }

        await using var fresh = FederateProcess.Start("new-run", log, Server(FederateProcess.FreePort(), "--new-run"));
        await fresh.WaitForLineAsync("listening on", Timeout);
        fresh.Kill();
        await fresh.WaitForExitAsync(Timeout);
    }

    private static int AfterRound(string line) => int.Parse(Regex.Match(line, @"after round (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
}
