namespace Federate.Cli.Tests;

public class CliErrorTests
{
    private static void AssertOneLineError((int Code, string Out, string Err) result, string expected)
    {
        Assert.NotEqual(0, result.Code);
        var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.Err);
    }

    [Theory]
    [InlineData("--dataset", "mnist-foo", "mnist-foo")]
    [InlineData("--model", "resnet", "Unknown model 'resnet'")]
    [InlineData("--strategy", "fedfoo", "Unknown strategy 'fedfoo'")]
    [InlineData("--fraction", "0", "--fraction must be in (0, 1]")]
    [InlineData("--clients", "5000", "among 5000 clients")]
    [InlineData("--partition", "zipf:2", "zipf:2")]
    [InlineData("--drop-rate", "1.5", "--drop-rate must be in [0, 1)")]
    [InlineData("--target", "accuracy", "METRIC=VALUE")]
    [InlineData("--dataset", "/nonexistent/data.csv", "not found")]
    public async Task Sim_BadInput_OneLineErrorAndNonZeroExit(string option, string value, string expected)
    {
        var dir = Cli.TempDir();
        AssertOneLineError(await Cli.RunAsync("sim", option, value, "--rounds", "1", "--out", dir), expected);
    }

    [Theory]
    [InlineData("digits", "unet-small", "model 'unet-small' segments images but dataset 'digits' has no per-pixel masks; use a segmentation dataset such as --dataset shapes-seg")]
    [InlineData("shapes-seg", "cnn", "dataset 'shapes-seg' is a segmentation dataset (per-pixel masks) and model 'cnn' classifies whole rows; use --model unet-small")]
    public async Task Sim_ModelDoesNotFitDataset_OneLineErrorNamingTheFix(string dataset, string model, string expected)
    {
        var dir = Cli.TempDir();
        AssertOneLineError(await Cli.RunAsync("sim", "--dataset", dataset, "--model", model, "--rounds", "1", "--out", dir), expected);
    }

    [Fact]
    public async Task Sim_UnknownOption_UsageError()
    {
        var result = await Cli.RunAsync("sim", "--colour", "blue");
        Assert.Equal(2, result.Code);
        AssertOneLineError(result, "--colour");
    }

    [Fact]
    public async Task Sim_NonNumericOptionValue_UsageError()
    {
        AssertOneLineError(await Cli.RunAsync("sim", "--rounds", "many"), "many");
    }

    [Theory]
    [InlineData("ragged", "a,b,label\n1,2,0\n3,4\n5,6,1\n", "ragged")]
    [InlineData("text", "a,b,label\n1,2,0\n3,abc,1\n5,6,1\n", "'abc' is not a number")]
    public async Task Sim_MalformedCsv_OneLineErrorWithLine(string name, string content, string expected)
    {
        var dir = Cli.TempDir();
        var path = Path.Combine(dir, name + ".csv");
        await File.WriteAllTextAsync(path, content);
        var result = await Cli.RunAsync("sim", "--dataset", path, "--clients", "1", "--rounds", "1", "--out", dir);
        AssertOneLineError(result, expected);
        Assert.Contains("line 3", result.Err);
    }

    [Fact]
    public async Task Sim_RealProcess_BadDatasetExitsNonZeroWithoutStackTrace()
    {
        var result = await Cli.RunProcessAsync("sim", "--dataset", "nope", "--rounds", "1", "--out", Cli.TempDir());
        AssertOneLineError(result, "nope");
    }

    [Fact]
    public async Task Sim_RealProcess_SmallRunSucceeds()
    {
        var dir = Cli.TempDir();
        var result = await Cli.RunProcessAsync("sim", "--dataset", "iris", "--model", "logistic", "--clients", "3", "--rounds", "2", "--partition", "iid", "--out", dir);
        Assert.True(result.Code == 0, result.Err);
        Assert.Contains("round   2/2", result.Out);
        Assert.True(File.Exists(Path.Combine(dir, "history.json")));
    }
}
