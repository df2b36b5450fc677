using System.Buffers.Binary;

namespace Federate.Cli.Tests;

public class ReportCommandTests
{
    [Fact]
    public async Task Report_AfterSim_WritesPngOfRequestedSize()
    {
        var dir = Cli.TempDir();
        Assert.Equal(0, (await Cli.RunAsync("sim", "--dataset", "iris", "--model", "logistic", "--clients", "3", "--rounds", "3", "--partition", "iid", "--out", dir)).Code);
        var png = Path.Combine(dir, "plots", "report.png");
        var (code, output, err) = await Cli.RunAsync("report", "--run", dir, "--out", png, "--width", "640", "--height", "360");
        Assert.True(code == 0, err);
        Assert.Contains("(3 rounds)", output);
        var bytes = await File.ReadAllBytesAsync(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        // IHDR: width and height big-endian at offsets 16 and 20.
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(360, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        Assert.True(bytes.Length > 5000);
    }

    [Fact]
    public async Task Report_MissingRun_OneLineError()
    {
        var (code, _, err) = await Cli.RunAsync("report", "--run", Path.Combine(Cli.TempDir(), "nope"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: no history.json at", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Report_CorruptHistory_OneLineError()
    {
        var dir = Cli.TempDir();
        await File.WriteAllTextAsync(Path.Combine(dir, "history.json"), "{\"run_id\": 5, \"rounds\": [");
        var (code, _, err) = await Cli.RunAsync("report", "--run", dir, "--out", Path.Combine(dir, "r.png"));
        Assert.Equal(1, code);
        Assert.Equal($"error: '{Path.Combine(dir, "history.json")}' is not a run history federate can read: it is not complete JSON (cut off or damaged near line 1); pass the --out folder of a federate sim or server run (or export one with 'federate runs export')", err.Trim());
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("{\"rounds\": [{\"round\": \"one\"}]}")]
    public async Task Report_HistoryOfTheWrongShape_SaysSoInPlainWords(string json)
    {
        var dir = Cli.TempDir();
        await File.WriteAllTextAsync(Path.Combine(dir, "history.json"), json);
        var (code, _, err) = await Cli.RunAsync("report", "--run", dir, "--out", Path.Combine(dir, "r.png"));
        Assert.Equal(1, code);
        Assert.Equal($"error: '{Path.Combine(dir, "history.json")}' is not a run history federate can read: a field of a run history is missing or has the wrong type; pass the --out folder of a federate sim or server run (or export one with 'federate runs export')", err.Trim());
    }

    [Fact]
    public async Task Report_MissingRunOption_UsageError()
    {
        var (code, _, err) = await Cli.RunAsync("report");
        Assert.Equal(2, code);
        Assert.Contains("--run", err);
    }
}
