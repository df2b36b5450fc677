using Federate.Core;
using Federate.Core.Compression;

namespace Federate.Simulation.Tests;

/// <summary>
/// Simulations with update compression: the same model whatever the thread count, bytes per round in the history,
/// the residuals resume with the run, accuracy close to uncompressed, and secure aggregation refused with it.
/// </summary>
public sealed class CompressionSimulationTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "federate-simcompress-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    private SimulationSettings Settings(string name, string? codec, int parallelism = 2, bool durable = false) => new()
    {
        Dataset = "digits",
        Model = "mlp",
        Clients = 5,
        Rounds = 4,
        LocalEpochs = 1,
        Seed = 9,
        Fraction = 0.6,
        Parallelism = parallelism,
        UpdateCompression = codec,
        Out = Path.Combine(_work, name),
        StateDir = durable ? Path.Combine(_work, "state") : null,
    };

    private byte[] Model(string name) => File.ReadAllBytes(Path.Combine(_work, name, "model.safetensors"));

    private static async Task<RunResult> RunAsync(SimulationSettings settings)
    {
        using var simulation = Simulation.Create(settings);
        return await simulation.RunAsync();
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("topk:0.02")]
    public async Task Compressed_OneOrTwoThreads_SameModel_BytesInHistory(string codec)
    {
        var one = await RunAsync(Settings("one", codec, parallelism: 1));
        await RunAsync(Settings("two", codec, parallelism: 2));
        Assert.Equal(Model("one"), Model("two"));

        Assert.Equal(UpdateCodec.Parse(codec)!.Name, one.History.Config[UpdateCompression.ConfigKey]);
        var parameters = Learning.Models.ModelFactory.Create("mlp", 64, 10).GetParameters();
        long perUpdate = parameters.Sum(kv => UpdateCodec.Parse(codec)!.EncodedLength(kv.Value.Length));
        Assert.All(one.History.Rounds, r =>
        {
            Assert.Equal(r.Results * perUpdate, r.Train[UpdateCompression.UpdateBytesMetric]);
            Assert.Equal((double)perUpdate / parameters.ByteLength, r.Train[UpdateCompression.RatioMetric], 12);
            Assert.False(r.Train.ContainsKey(UpdateCompression.CompressedBytesMetric));
        });
    }

    [Fact]
    public async Task Int8_AccuracyCloseToUncompressed_NoneIsUnchanged()
    {
        var none = await RunAsync(Settings("none", "none"));
        var plain = await RunAsync(Settings("plain", null));
        var int8 = await RunAsync(Settings("int8", "int8"));
        Assert.Equal(Model("plain"), Model("none"));
        Assert.False(none.History.Config.ContainsKey(UpdateCompression.ConfigKey));
        Assert.False(none.History.Rounds[^1].Train.ContainsKey(UpdateCompression.UpdateBytesMetric));
        Assert.NotEqual(Model("none"), Model("int8"));
        double a = none.History.Rounds[^1].Evaluate["accuracy"], b = int8.History.Rounds[^1].Evaluate["accuracy"];
        Assert.True(Math.Abs(a - b) <= 0.01, $"int8 {b:0.0000} vs none {a:0.0000}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Int8_StoppedAfterRound_ResumesWithResidualsAndSameModel(int stopAfter)
    {
        using (var cts = new CancellationTokenSource())
        using (var first = Simulation.Create(Settings("resumed", "int8", durable: true)))
        {
            first.Plan.Observers.Add(new SimulationResumeTests.CancelAfter(stopAfter, cts));
            var stopped = await first.RunAsync(cts.Token);
            Assert.Equal(StopReasons.Cancelled, stopped.History.StopReason);
        }

        using (var second = Simulation.Create(Settings("resumed", "int8", durable: true)))
        {
            await second.RunAsync();
        }

        await RunAsync(Settings("reference", "int8"));
        Assert.Equal(Model("reference"), Model("resumed"));
    }

    [Fact]
    public void Validate_CompressionWithSecAgg_Refused()
    {
        var settings = Settings("x", "int8");
        settings.SecAgg = new Core.SecureAggregation.SecAggPlusSettings();
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.StartsWith("'update_compression' int8 cannot be combined with 'secagg'", error.Message, StringComparison.Ordinal);

        settings.SecAgg = null;
        settings.UpdateCompression = "int3";
        Assert.Equal("'update_compression' must be none, fp16, int8 or topk:F (F in (0, 1]), got 'int3'", Assert.Throws<ArgumentException>(settings.Validate).Message);
    }
}
