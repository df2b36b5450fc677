using System.CommandLine;

namespace Federate.Cli.Tests;

/// <summary>Library messages name settings by key ('local_epochs'); the command line shows the flag instead.</summary>
public sealed class OptionNamesTests
{
    private static Command Sim() => FederateCli.BuildRoot(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == "sim");

    [Fact]
    public void ToFlags_KnownSettingKeys_BecomeFlags()
    {
        Assert.Equal(
            "--min-fit-clients (3) cannot exceed --clients (2)",
            OptionNames.ToFlags("'min_fit_clients' (3) cannot exceed 'clients' (2)", Sim()));
    }

    [Fact]
    public void ToFlags_QuotedWordsThatAreNotOptions_StayQuoted()
    {
        Assert.Equal(
            "cannot split 569 rows of 'breast-cancer' among 600 clients; use --clients 569 or fewer",
            OptionNames.ToFlags("cannot split 569 rows of 'breast-cancer' among 600 clients; use 'clients' 569 or fewer", Sim()));
        Assert.Equal("'nonsense_key' must be positive", OptionNames.ToFlags("'nonsense_key' must be positive", Sim()));
    }

    [Fact]
    public async Task Sim_BadSetting_ErrorNamesTheFlag()
    {
        var error = new StringWriter();
        int code = await FederateCli.RunAsync(["sim", "--local-epochs", "0"], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Equal("error: --local-epochs must be at least 1, got 0", error.ToString().Trim());
    }
}
