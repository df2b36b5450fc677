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

    private SimulationSettings Settings(string name, bool durable, int keepCheckpoints = 0) => new()
    {
        KeepCheckpoints = keepCheckpoints,
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
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(3, 1)] // only the newest checkpoint kept (FedAdam's moments with it), older files rewritten in place
    [InlineData(4, 2)]
    public async Task StoppedAfterRound_ResumesWithSameModelAndEpsilon(int stopAfter, int keepCheckpoints)
    {
        using (var cts = new CancellationTokenSource())
        using (var first = Simulation.Create(Settings("resumed", durable: true, keepCheckpoints)))
        {
            first.Plan.Observers.Add(new CancelAfter(stopAfter, cts));
            var stopped = await first.RunAsync(cts.Token);
            Assert.Equal(StopReasons.Cancelled, stopped.History.StopReason);
            Assert.Equal(stopAfter, stopped.History.Rounds.Count);
        }

        var log = new List<string>();
        RunResult resumed;
        using (var second = Simulation.Create(Settings("resumed", durable: true, keepCheckpoints), log.Add))
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
        var kept = Directory.GetDirectories(Path.Combine(_work, "state", "checkpoints")).Single();
        Assert.Equal(keepCheckpoints == 0 ? 5 : keepCheckpoints, Directory.GetFiles(kept, "round-*.safetensors").Count(f => !f.EndsWith(".state.safetensors", StringComparison.Ordinal)));
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

    private async Task StopAfterAsync(int round)
    {
        using var cts = new CancellationTokenSource();
        using var first = Simulation.Create(Settings("resumed", durable: true));
        first.Plan.Observers.Add(new CancelAfter(round, cts));
        await first.RunAsync(cts.Token);
    }

    [Fact]
    public async Task UnfinishedRunWithOtherSettings_IsRefusedNamingTheChange_NewRunAbandonsIt()
    {
        await StopAfterAsync(2);
        var changed = Settings("resumed", durable: true);
        changed.LearningRate = 0.05;
        using (var simulation = Simulation.Create(changed))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => simulation.RunAsync());
            Assert.Contains("holds unfinished run sim-3-", error.Message, StringComparison.Ordinal);
            Assert.Contains("(2 rounds done) started with other settings (lr 0.1 -> 0.05)", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("start with the same settings to resume it, or give 'new_run' to abandon it and start a new run", error.Message, StringComparison.Ordinal);
        }

        changed.NewRun = true;
        var log = new List<string>();
        using (var simulation = Simulation.Create(changed, log.Add))
        {
            var result = await simulation.RunAsync();
            Assert.Equal(5, result.History.Rounds.Count);
        }

        Assert.Contains(log, l => l.Contains("(2 rounds done) abandoned; starting a new run", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FinishedRunStartedAgain_SaysSoAndRunsNothing()
    {
        RunResult first;
        using (var simulation = Simulation.Create(Settings("resumed", durable: true)))
        {
            first = await simulation.RunAsync();
        }

        var model = File.ReadAllBytes(Path.Combine(_work, "resumed", "model.safetensors"));
        var log = new List<string>();
        using (var again = Simulation.Create(Settings("resumed", durable: true), log.Add))
        {
            var counter = new CancelAfter(int.MaxValue, new CancellationTokenSource());
            again.Plan.Observers.Add(counter);
            var result = await again.RunAsync();
            Assert.Equal(0, counter.Rounds);
            Assert.Equal(first.History.Rounds.Select(r => r.Evaluate["loss"]), result.History.Rounds.Select(r => r.Evaluate["loss"]));
        }

        var line = Assert.Single(log);
        Assert.Matches(@"^state: run sim-3-\d+-[0-9a-f]{6} with these settings already finished \(round_limit, 5 rounds\); give 'new_run' to start another$", line);
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(_work, "resumed", "model.safetensors")));
    }

    [Fact]
    public void StateDatabaseOfRandomBytes_IsRefusedWithOneLine()
    {
        var state = Path.Combine(_work, "state");
        Directory.CreateDirectory(state);
        var bytes = new byte[8192];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(state, "state.db"), bytes);
        var error = Assert.Throws<InvalidDataException>(() => Simulation.Create(Settings("x", durable: true)));
        Assert.Equal($"the state database {Path.Combine(state, "state.db")} cannot be read (file is not a database); move the state directory aside to start afresh, or restore state.db from a backup", error.Message);
    }

    [Fact]
    public async Task DeletedDatabaseWithCheckpointsLeft_IsRefusedNotSilentlyRestarted()
    {
        await StopAfterAsync(2);
        var state = Path.Combine(_work, "state");
        foreach (var file in Directory.EnumerateFiles(state, "state.db*"))
        {
            File.Delete(file);
        }

        using var simulation = Simulation.Create(Settings("resumed", durable: true));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => simulation.RunAsync());
        Assert.Contains("that its database does not know (state.db was deleted, reset or damaged); restore state.db, or give 'new_run' to start a new run", error.Message, StringComparison.Ordinal);
    }

    internal sealed class CancelAfter(int round, CancellationTokenSource cts) : IRunObserver
    {
        public int Rounds { get; private set; }

        public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
        {
            Rounds++;
            if (record.Round == round)
            {
                cts.Cancel();
            }
        }
    }
}
