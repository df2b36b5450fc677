using System.IO.Compression;
using System.Text;
using Federate.Protocol.FlowerFleet;
using Federate.Server.Flower;
using Grpc.Core;
using Grpc.Net.Client;

namespace Federate.Server.Tests;

/// <summary>The Fleet API on a Federate server's Flower port, over real gRPC on 127.0.0.1, and the app bundle.</summary>
public sealed class SuperNodeServerTests
{
    private static string WriteApp(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "pkg", "__pycache__"));
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "pyproject.toml"), """
            [project]
            name = "tiny-app"
            version = "2.1.0"

            [tool.flwr.app]
            publisher = "acme"

            [tool.flwr.app.components]
            clientapp = "pkg.client:app"

            [tool.flwr.federations]
            default = "local"

            [tool.flwr.federations.local]
            address = "127.0.0.1:9093"
            """);
        File.WriteAllText(Path.Combine(dir, "pkg", "client.py"), "app = None\n");
        File.WriteAllText(Path.Combine(dir, "pkg", "__pycache__", "client.cpython-311.pyc"), "x");
        File.WriteAllText(Path.Combine(dir, "pkg", "notes.txt"), "not bundled");
        File.WriteAllText(Path.Combine(dir, "data", "big.py"), "ignored\n");
        File.WriteAllText(Path.Combine(dir, ".gitignore"), "data/\n");
        return dir;
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "federate-supernode-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void Build_AppFolder_FabAsFlwrBuildMakesIt()
    {
        var app = WriteApp(TempDir());

        var first = FlowerAppBundle.Build(app);
        var again = FlowerAppBundle.Build(app);

        Assert.Equal(first, again);
        using var zip = new ZipArchive(new MemoryStream(first));
        Assert.Equal(["pyproject.toml", "pkg/client.py", ".info/CONTENT"], zip.Entries.Select(e => e.FullName));
        var pyproject = new StreamReader(zip.GetEntry("pyproject.toml")!.Open()).ReadToEnd();
        Assert.DoesNotContain("federations", pyproject, StringComparison.Ordinal);
        Assert.Contains("clientapp = \"pkg.client:app\"", pyproject, StringComparison.Ordinal);
        var content = new StreamReader(zip.GetEntry(".info/CONTENT")!.Open()).ReadToEnd();
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("app = None\n")));
        Assert.Equal($"pkg/client.py,{sha},88\n", content); // 11 bytes, in bits
        var bundle = FlowerAppBundle.Load(app);
        Assert.Equal(("acme/tiny-app", "2.1.0"), (bundle.FabId, bundle.Version));
    }

    [Fact]
    public void Load_AppWithoutClientApp_NamesTheMissingKey()
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "pyproject.toml"), "[project]\nname = \"a\"\nversion = \"1\"\n[tool.flwr.app]\npublisher = \"p\"\n");

        var ex = Assert.Throws<InvalidDataException>(() => FlowerAppBundle.Load(dir));

        Assert.StartsWith("the Flower app's pyproject.toml has no 'tool.flwr.app.components.clientapp'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fleet_NewerFlowerAndUnknownNodes_RefusedWithReason()
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0, FlowerApp = WriteApp(TempDir()) };
        await using var server = await FleetServer.StartAsync(options);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.FlowerPort}");
        var fleet = new Fleet.FleetClient(channel);

        var newer = await Assert.ThrowsAsync<RpcException>(async () => await fleet.RegisterNodeAsync(new UnsupportedFleetRequest()));
        Assert.Equal(StatusCode.Unimplemented, newer.StatusCode);
        Assert.Equal("RegisterNode is Flower 1.23+'s Fleet API; this Federate server speaks Flower 1.19's (CreateNode): run flower-supernode from Flower 1.19", newer.Status.Detail);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await fleet.PullMessagesAsync(new PullMessagesRequest { Node = new Node { NodeId = 999 } }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.StartsWith("unknown SuperNode 999", unknown.Status.Detail, StringComparison.Ordinal);

        var node = (await fleet.CreateNodeAsync(new CreateNodeRequest { HeartbeatInterval = 30 })).Node;
        Assert.True((await fleet.SendNodeHeartbeatAsync(new SendNodeHeartbeatRequest { Node = node, HeartbeatInterval = 30 })).Success);
        Assert.Empty((await fleet.PullMessagesAsync(new PullMessagesRequest { Node = node })).MessagesList);
        var run = await Assert.ThrowsAsync<RpcException>(async () => await fleet.GetRunAsync(new GetRunRequest { Node = node, RunId = 5 }));
        Assert.Equal((StatusCode.NotFound, "run 5 is not this server's run"), (run.StatusCode, run.Status.Detail));
        var fab = await Assert.ThrowsAsync<RpcException>(async () => await fleet.GetFabAsync(new GetFabRequest { Node = node, HashStr = "abc" }));
        Assert.StartsWith("no Flower app with hash abc (this server serves acme/tiny-app 2.1.0, hash ", fab.Status.Detail, StringComparison.Ordinal);

        await fleet.DeleteNodeAsync(new DeleteNodeRequest { Node = node });
        Assert.False((await fleet.SendNodeHeartbeatAsync(new SendNodeHeartbeatRequest { Node = node, HeartbeatInterval = 30 })).Success);
    }
}
