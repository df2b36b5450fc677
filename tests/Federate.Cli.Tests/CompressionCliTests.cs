namespace Federate.Cli.Tests;

/// <summary><c>--update-compression</c> of <c>federate sim</c> and <c>federate server</c> through the real entry point.</summary>
public class CompressionCliTests
{
    [Theory]
    [InlineData("error: --update-compression must be none, fp16, int8 or topk:F (F in (0, 1]), got 'int4'", "sim", "--update-compression", "int4")]
    [InlineData("error: --update-compression topk needs a fraction in (0, 1], got '2'; use e.g. topk:0.01", "server", "--insecure", "--update-compression", "topk:2")]
    [InlineData("error: --update-compression int8 cannot be combined with --secagg: the masked sum hides the per-block scales and indices the server needs to decode; use one or the other", "sim", "--secagg", "--update-compression", "int8")]
    [InlineData("error: --update-compression fp16 cannot be combined with --secagg: the masked sum hides the per-block scales and indices the server needs to decode; use one or the other", "server", "--insecure", "--secagg", "--update-compression", "fp16")]
    public async Task UpdateCompression_BadInput_OneLineErrorNamingTheFlags(string expected, params string[] args)
    {
        var (code, output, err) = await Cli.RunAsync(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(expected, err.TrimEnd());
    }

    [Fact]
    public async Task Sim_Int8_RecordsCodecAndBytesPerRound()
    {
        var dir = Cli.TempDir();
        var (code, _, _) = await Cli.RunAsync("sim", "--update-compression", "INT8", "--clients", "3", "--rounds", "2", "--local-epochs", "1", "--out", dir, "--json");

        Assert.Equal(0, code);
        using var history = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "history.json")));
        Assert.Equal("int8", history.RootElement.GetProperty("config").GetProperty("update_compression").GetString());
        Assert.All(history.RootElement.GetProperty("rounds").EnumerateArray(), r =>
        {
            var train = r.GetProperty("train");
            Assert.True(train.GetProperty("update_bytes").GetDouble() > 0);
            Assert.InRange(train.GetProperty("update_compression_ratio").GetDouble(), 0.25, 0.26);
        });
    }
}
