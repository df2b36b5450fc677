using Federate.Core;
using Federate.Core.SecureAggregation;
using Federate.Simulation;

namespace Federate.Simulation.Tests;

/// <summary>
/// <c>federate sim --secagg</c> as a library call: the same accuracy as plain FedAvg (within half a point), a
/// byte-identical model for the same seed (the masks come from the CSPRNG and cancel exactly), and dropouts injected
/// by the grid recovered.
/// </summary>
public sealed class SecureAggregationTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "federate-secagg-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    private SimulationSettings Settings(string name, SecAggPlusSettings? secagg, string dataset = "digits", int clients = 10, int rounds = 5) => new()
    {
        Dataset = dataset,
        Clients = clients,
        Rounds = rounds,
        LocalEpochs = 2,
        Seed = 11,
        Parallelism = 2,
        Out = Path.Combine(_work, name),
        SecAgg = secagg,
    };

    private static async Task<RunResult> RunAsync(SimulationSettings settings)
    {
        using var simulation = Simulation.Create(settings);
        return await simulation.RunAsync().WaitAsync(TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task RunAsync_Digits_SecAggAccuracyEqualsFedAvgWithinHalfAPoint_AndIsDeterministic()
    {
        var plain = await RunAsync(Settings("plain", null));
        var secure = await RunAsync(Settings("secure", new SecAggPlusSettings()));
        var again = await RunAsync(Settings("again", new SecAggPlusSettings()));

        double a = plain.History.Rounds[^1].Evaluate["accuracy"];
        double b = secure.History.Rounds[^1].Evaluate["accuracy"];
        Assert.True(a > 0.85, $"plain accuracy {a}");
        Assert.True(Math.Abs(a - b) <= 0.005, $"plain {a:0.0000} vs secure {b:0.0000}");
        Assert.All(secure.History.Rounds, r => Assert.Equal((10, 0), (r.Results, r.Failures.Count)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_work, "secure", "model.safetensors")), File.ReadAllBytes(Path.Combine(_work, "again", "model.safetensors")));
        Assert.Equal(true, secure.History.Config["secagg"]);
    }

    [Fact]
    public async Task RunAsync_FashionMnist_SecAggAccuracyEqualsFedAvgWithinHalfAPoint()
    {
        // 6000 training images per client: max_weight above that keeps the exact FedAvg weights.
        SimulationSettings Fashion(string name, SecAggPlusSettings? secagg)
        {
            var settings = Settings(name, secagg, dataset: "fashion-mnist", rounds: 2);
            settings.LocalEpochs = 1;
            settings.Partition = "iid";
            return settings;
        }

        var plain = await RunAsync(Fashion("fashion-plain", null));
        var secure = await RunAsync(Fashion("fashion-secure", new SecAggPlusSettings { MaxWeight = 10000 }));

        double a = plain.History.Rounds[^1].Evaluate["accuracy"];
        double b = secure.History.Rounds[^1].Evaluate["accuracy"];
        Assert.True(a > 0.75, $"plain accuracy {a}");
        Assert.True(Math.Abs(a - b) <= 0.005, $"plain {a:0.0000} vs secure {b:0.0000}");
    }

    [Fact]
    public async Task RunAsync_DropRate_RecordsDropoutsPerStageAndRecovers()
    {
        var settings = Settings("drops", new SecAggPlusSettings { ReconstructionThreshold = 3 }, clients: 20, rounds: 2);
        settings.DropRate = 0.15;
        var result = await RunAsync(settings);

        Assert.All(result.History.Rounds, r =>
        {
            var dropped = r.Failures.Where(f => f.Phase == SecAggNames.Setup).ToArray();
            Assert.NotEmpty(dropped);
            Assert.All(dropped, f => Assert.Equal("dropped", f.Code));
            Assert.Equal(20 - dropped.Length, r.Results);
            Assert.Equal(dropped.Length, r.Train["secagg_dropped"]);
        });
    }

    [Fact]
    public void Create_SecAggWithKrum_RefusedNamingTheSettings()
    {
        var settings = Settings("krum", new SecAggPlusSettings());
        settings.Strategy = "krum";

        var error = Assert.Throws<ArgumentException>(() => Simulation.Create(settings));

        Assert.Equal("'secagg' hides every client's update, so 'strategy' krum (which needs them one by one) cannot run; use one of: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad", error.Message);
    }

    [Fact]
    public async Task RunAsync_WithCentralDpAndBudget_ReportsEpsilonAndStopsAtTheBudget()
    {
        var settings = Settings("dp", new SecAggPlusSettings(), rounds: 10);
        settings.Privacy = new Core.Privacy.PrivacySettings { CentralDp = "fixed", ClipNorm = 1.0, CentralNoiseMultiplier = 0.8, TargetEpsilon = 8 };
        var result = await RunAsync(settings);

        Assert.Equal(StopReasons.PrivacyBudget, result.History.StopReason);
        Assert.InRange(result.History.Rounds.Count, 1, 9);
        Assert.All(result.History.Rounds, r => Assert.True(r.Train["cumulative_user_epsilon"] <= 8));
    }
}
