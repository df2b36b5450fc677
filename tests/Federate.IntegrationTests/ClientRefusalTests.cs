using Federate.Core.Formats;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>A client learns why its work was refused or failed, in plain words, and so does the server's history.</summary>
public sealed class ClientRefusalTests(ITestOutputHelper log)
{
    private const string Mismatch =
        "tensor 'dense0.weight' is Float32[64,64] in the server's model and Float32[64,128] in this client's";

    [Fact]
    public async Task Client_ModelDoesNotMatchServer_ExitsOneWithTheReasonAndServerRecordsIt()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "mlp:64", "--min-clients", "1", "--rounds", "1", "--no-inspector"));
        await server.WaitForLineAsync("listening on");
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, "--model", "mlp:128"));

        Assert.Equal(1, await client.WaitForExitAsync());
        var errors = client.Output.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"error: this client cannot train the server's model: {Mismatch} --model; start the client with the same --model as the server"], errors);
        Assert.DoesNotContain("reply submitted", client.Output, StringComparison.Ordinal);

        await server.WaitForExitAsync();
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        var failure = Assert.Single(history.Rounds[0].Failures, f => f.Phase == "train");
        Assert.Equal("model_mismatch", failure.Code);
        Assert.Equal($"{Mismatch} 'model'; start the client with the same 'model' as the server", failure.Reason);
    }

    [Fact]
    public async Task Client_TrainingDiverges_ClientAndServerSaySo()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--lr", "1e9", "--min-clients", "1", "--rounds", "1", "--no-inspector", "--seed", "3"));
        await server.WaitForLineAsync("listening on");
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, "--seed", "3"));

        const string diverged = "training diverged: the loss is NaN; lower the learning rate ('lr')";
        await client.WaitForLineAsync($"round 1: the train task failed (diverged): {diverged}");
        await server.WaitForLineAsync($"round 1: node 1 failed (diverged): {diverged}");
        await server.WaitForExitAsync();
        Assert.Equal(0, await client.WaitForExitAsync());
        var failure = Assert.Single(HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json"))).Rounds[0].Failures);
        Assert.Equal(("diverged", diverged), (failure.Code, failure.Reason));
    }

    [Fact]
    public async Task Client_KitAgainstPlainServer_SaysTheServerDoesNotSpeakTls()
    {
        using var dir = new TempDir();
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "127.0.0.1", "--clients", "site-a", "--out", dir["kits"]);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--min-clients", "1", "--rounds", "1", "--no-inspector"));
        await server.WaitForLineAsync("listening on");
        await using var client = FederateProcess.Start("client", log, SecureFleet.ClientArgs(port, Path.Combine(dir["kits"], "site-a")));
        Assert.Equal(1, await client.WaitForExitAsync());
        var errors = client.Output.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Equal(["error: the server does not speak TLS: it is not a secure Federate server (a development server started with --insecure?); check --server, or connect to a development server with --insecure instead of --kit"], errors);
    }
}
