using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// Revocation takes effect at once, asserted on the wire: a TLS server with kits, a real site and a raw site behind a
/// byte-counting TCP proxy that holds its round-1 task; <c>federate provision revoke</c> cuts it off mid-round.
/// </summary>
public sealed class RevocationTests(ITestOutputHelper log)
{
    /// <summary>The model: 250,000 float32 parameters, 1,000,000 bytes per copy sent.</summary>
    private const string Model = "noop:250000";
    private const long ModelBytes = 1_000_000;

    [Fact]
    public async Task Revoke_SiteHoldingATask_CutAtOnceRoundGoesOnAndNoByteOfTheNextModelReachesIt()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "127.0.0.1", "--clients", "site-a,site-b,site-c", "--out", kits);
        int port = FederateProcess.FreePort();

        // A round timeout of 600 s and a node expiry of 600 s: only the revocation can end site-b's part in round 1 in time.
        await using var server = FederateProcess.Start("server", log,
            "server", "--kit", Path.Combine(kits, "server"), "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--out", dir["out"], "--state-dir", dir["state"], "--no-inspector", "--heartbeat-interval", "0.5", "--node-expiry", "600", "--round-timeout", "600",
            "--model", Model, "--dataset", "digits", "--min-clients", "2", "--rounds", "2", "--seed", "5");
        await server.WaitForLineAsync("listening on");

        await using var proxy = new TcpProxy(port);
        using var channel = SecureFleet.Channel(proxy.Port, Path.Combine(kits, "site-b", "ca.pem"));
        var fleet = new Fleet.FleetClient(channel);
        var (_, registered) = await SecureFleet.RegisterAsync(fleet, Path.Combine(kits, "site-b"), partition: 1);
        var token = SecureFleet.Token(registered.SessionToken);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        // site-a joins: round 1 samples both sites; site-b takes its train task (the whole global model) and holds it.
        string[] Site(string name, int id) =>
            SecureFleet.ClientArgs(port, Path.Combine(kits, name), "--model", Model, "--dataset", "digits", "--dataset-id", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--num-partitions", "3", "--seed", "5");
        await using var a = FederateProcess.Start("site-a", log, Site("site-a", 0));
        TaskHeader? task = null;
        long received = 0;
        while (task is null)
        {
            using var pull = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = registered.NodeId, WaitMs = 30_000 }, token, cancellationToken: stop.Token);
            while (await pull.ResponseStream.MoveNext(stop.Token))
            {
                var frame = pull.ResponseStream.Current;
                task ??= frame.FrameCase == TaskFrame.FrameOneofCase.Task ? frame.Task : null;
                received += frame.Chunk?.Data.Length ?? 0;
            }
        }

        Assert.Equal(1, task.Metadata.Round);
        Assert.Equal(ModelBytes, received);
        Assert.True(proxy.BytesToClient > ModelBytes, $"the round-1 model crossed the proxy ({proxy.BytesToClient} bytes)");
        await a.WaitForLineAsync("round 1: train reply submitted"); // the round now waits for site-b only

        // site-b waits for its next task on an open stream; then its certificate is revoked.
        using var waiting = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = registered.NodeId, WaitMs = 30_000 }, token, cancellationToken: stop.Token);
        var next = Task.Run(async () =>
        {
            while (await waiting.ResponseStream.MoveNext(stop.Token))
            {
            }
        });
        long before = proxy.BytesToClient;
        await SecureFleet.ProvisionAsync(log, "revoke", "site-b", "--out", kits);

        // At once: the open stream is refused, the node is cut off and round 1 goes on without it.
        var refused = await Assert.ThrowsAsync<RpcException>(() => next.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal("session refused: this client's certificate has been revoked", refused.Status.Detail);
        await server.WaitForLineAsync($"node {registered.NodeId} ('site-b') cut off: its certificate was revoked");
        await server.WaitForLineAsync("round 1: 1 results");

        // Every later call is refused, registration included.
        var heartbeat = await Assert.ThrowsAsync<RpcException>(() => fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = registered.NodeId }, token, DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, heartbeat.StatusCode);
        var again = await Assert.ThrowsAsync<RpcException>(() => SecureFleet.RegisterAsync(fleet, Path.Combine(kits, "site-b"), partition: 1));
        Assert.Equal("registration refused: the certificate of 'site-b' has been revoked", again.Status.Detail);

        // Round 2 runs with site-a and site-c; the run ends long before any timeout.
        await using var c = FederateProcess.Start("site-c", log, Site("site-c", 2));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, await a.WaitForExitAsync());
        Assert.Equal(0, await c.WaitForExitAsync());

        // On the wire: after the revocation site-b got refusals only (a few TLS records), no byte of round 2's model.
        long after = proxy.BytesToClient - before;
        log.WriteLine($"bytes to site-b: {before} before the revocation (round 1's model: {ModelBytes}), {after} after");
        Assert.True(after < 16 * 1024, $"site-b received {after} bytes after its revocation; the model is {ModelBytes} bytes");
        var history = Federate.Core.Formats.HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        Assert.Equal(2, history.Rounds.Count);
        var round1 = history.Rounds[0];
        Assert.Equal(1, round1.Results);
        var failure = Assert.Single(round1.Failures, f => f.NodeId == registered.NodeId && f.Phase == "train");
        Assert.Equal("revoked", failure.Code);
        Assert.Equal("the certificate of 'site-b' was revoked", failure.Reason);
        Assert.Equal(2, history.Rounds[1].Results);
        Assert.DoesNotContain(history.Rounds[1].Failures, f => f.NodeId == registered.NodeId);
    }
}
