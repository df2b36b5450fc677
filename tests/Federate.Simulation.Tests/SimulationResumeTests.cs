using Federate.Core;
using Federate.Simulation;

namespace Federate.Simulation.Tests;

/// <summary>
/// A simulation with a state directory, stopped after a round and run again, resumes from the checkpoint: same final
/// model bytes and the same privacy accounting (the clients' DP-SGD ledgers resume with the run) as an uninterrupted
/// run; a second simulation on a locked state directory is refused.
/// </summary>
public sealed class SimulationResumeTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "federate-simresume-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    private SimulationSettings Settings(string name, bool durable) => new()
    {
        Dataset = "breast-cancer",
        Model = "logistic",
        Clients = 4,
        Rounds = 5,
        LocalEpochs = 1,
        Seed = 3,
        Strategy = "fedadam",
        Parallelism = 2,
        Privacy = { DpSgd = true, NoiseMultiplier = 1.1, MaxGradNorm = 1.0 },
        Out = Path.Combine(_work, name),
        StateDir = durable ? Path.Combine(_work, "state") : null,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task StoppedAfterRound_ResumesWithSameModelAndEpsilon(int stopAfter)
    {
        using (var cts = new CancellationTokenSource())
        using (var first = Simulation.Create(Settings("resumed", durable: true)))
        {
            first.Plan.Observers.Add(new CancelAfter(stopAfter, cts));
            var stopped = await first.RunAsync(cts.Token);
            Assert.Equal(StopReasons.Cancelled, stopped.History.StopReason);
            Assert.Equal(stopAfter, stopped.History.Rounds.Count);
        }

        var log = new List<string>();
        RunResult resumed;
        using (var second = Simulation.Create(Settings("resumed", durable: true), log.Add))
        {
            Assert.NotNull(second.Plan.Durability);
            resumed = await second.RunAsync();
        }

        Assert.Contains(log, l => l.StartsWith($"state: resuming run sim-3-", StringComparison.Ordinal) && l.Contains($"after round {stopAfter} ", StringComparison.Ordinal));
        using var reference = Simulation.Create(Settings("reference", durable: false));
        var whole = await reference.RunAsync();

        Assert.Equal(File.ReadAllBytes(Path.Combine(_work, "reference", "model.safetensors")), File.ReadAllBytes(Path.Combine(_work, "resumed", "model.safetensors")));
        Assert.Equal(whole.History.Rounds.Select(r => r.Round), resumed.History.Rounds.Select(r => r.Round));
        Assert.Equal(
            whole.History.Rounds.Select(r => r.Train["cumulative_sample_epsilon"]),
            resumed.History.Rounds.Select(r => r.Train["cumulative_sample_epsilon"]));
        Assert.Equal(whole.History.Rounds.Select(r => r.Evaluate["loss"]), resumed.History.Rounds.Select(r => r.Evaluate["loss"]));
    }

    [Fact]
    public void SecondSimulationOnHeldStateDirectory_IsRefusedWithOneLine()
    {
        using var first = Simulation.Create(Settings("a", durable: true));
        var error = Assert.Throws<IOException>(() => Simulation.Create(Settings("b", durable: true)));
        Assert.Contains("is in use by another process (pid ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void OutputFolderIsAFile_FailsBeforeTheRun()
    {
        Directory.CreateDirectory(_work);
        var file = Path.Combine(_work, "out-file");
        File.WriteAllText(file, "x");
        var settings = Settings("x", durable: false);
        settings.Out = file;
        using var simulation = Simulation.Create(settings);
        var error = Assert.Throws<IOException>(() => FederatedRun.Prepare(simulation.Plan));
        Assert.Equal($"the output folder '{file}' is a file; give a folder (it is created when missing)", error.Message);
    }

    private sealed class CancelAfter(int round, CancellationTokenSource cts) : IRunObserver
    {
        public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
        {
            if (record.Round == round)
            {
                cts.Cancel();
            }
        }
    }
}
