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
    public async Task Fleet_UnknownNodes_RefusedWithReason()
    {
        await using var api = await FleetApi.StartAsync(WriteApp(TempDir()));
        var fleet = api.Client;

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await fleet.PullMessagesAsync(new PullMessagesRequest { Node = new Node { NodeId = 999 } }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.StartsWith("unknown SuperNode 999", unknown.Status.Detail, StringComparison.Ordinal);

        var node = (await fleet.CreateNodeAsync(new CreateNodeRequest { HeartbeatInterval = 30 })).Node;
        Assert.True(await BeatAsync(fleet, node));
        Assert.Empty((await fleet.PullMessagesAsync(new PullMessagesRequest { Node = node })).MessagesList);
        var run = await Assert.ThrowsAsync<RpcException>(async () => await fleet.GetRunAsync(new GetRunRequest { Node = node, RunId = 5 }));
        Assert.Equal((StatusCode.NotFound, "run 5 is not this server's run"), (run.StatusCode, run.Status.Detail));
        var fab = await Assert.ThrowsAsync<RpcException>(async () => await fleet.GetFabAsync(new GetFabRequest { Node = node, HashStr = "abc" }));
        Assert.StartsWith("no Flower app with hash abc (this server serves acme/tiny-app 2.1.0, hash ", fab.Status.Detail, StringComparison.Ordinal);

        await fleet.DeleteNodeAsync(new DeleteNodeRequest { Node = node });
        Assert.False(await BeatAsync(fleet, node));
    }

    [Fact]
    public async Task Fleet_Flower123Lifecycle_ActivateJoinsDeactivateLeaves()
    {
        await using var api = await FleetApi.StartAsync(WriteApp(TempDir()));
        var fleet = api.Client;
        var key = Google.Protobuf.ByteString.CopyFromUtf8("-----BEGIN PUBLIC KEY-----\nMHYw\n-----END PUBLIC KEY-----\n");

        var noKey = await Assert.ThrowsAsync<RpcException>(async () => await fleet.RegisterNodeAsync(new RegisterNodeFleetRequest()));
        Assert.Equal((StatusCode.InvalidArgument, "RegisterNode needs the SuperNode's public key"), (noKey.StatusCode, noKey.Status.Detail));
        await fleet.RegisterNodeAsync(new RegisterNodeFleetRequest { PublicKey = key });
        var id = (await fleet.ActivateNodeAsync(new ActivateNodeRequest { PublicKey = key, HeartbeatInterval = 30 })).NodeId;
        var node = new Node { NodeId = id };

        Assert.True(id > 0);
        Assert.True(await BeatAsync(fleet, node));
        Assert.Empty((await fleet.PullMessagesAsync(new PullMessagesRequest { Node = node })).MessagesList);
        await fleet.DeactivateNodeAsync(new DeactivateNodeRequest { NodeId = id });
        await fleet.UnregisterNodeAsync(new UnregisterNodeFleetRequest { NodeId = id });
        Assert.False(await BeatAsync(fleet, node));
    }

    [Fact]
    public async Task Fleet_OtherFlowerVersions_RefusedNamingTheSupportedOnes()
    {
        await using var api = await FleetApi.StartAsync(WriteApp(TempDir()));
        var fleet = api.Client;
        const string Supported = ": run flower-supernode from Flower 1.19 or 1.23, the versions this server speaks";

        // Flower 1.20 to 1.22 register as 1.19 does but pull the probe object listed only in their shape of a pull.
        var middle = (await fleet.CreateNodeAsync(new CreateNodeRequest { HeartbeatInterval = 30 })).Node;
        var probe = await Assert.ThrowsAsync<RpcException>(async () => await fleet.PullObjectAsync(new PullObjectRequest { Node = middle, ObjectId = Federate.Protocol.FlowerFleetWire.ProbeObjectId }));
        Assert.Equal((StatusCode.FailedPrecondition, "Flower 1.20 to 1.22 SuperNodes are not supported (they register as 1.19 does but read messages as 1.20 does)" + Supported), (probe.StatusCode, probe.Status.Detail));
        var again = await Assert.ThrowsAsync<RpcException>(async () => await fleet.PullMessagesAsync(new PullMessagesRequest { Node = middle }));
        Assert.Equal(probe.Status.Detail, again.Status.Detail);
        Assert.False(await BeatAsync(fleet, middle));

        // Before 1.19 a SuperNode pushed a message's content inline, without an object tree.
        var older = (await fleet.CreateNodeAsync(new CreateNodeRequest { HeartbeatInterval = 30 })).Node;
        var push = await Assert.ThrowsAsync<RpcException>(async () => await fleet.PushMessagesAsync(new PushMessagesRequest { Node = older, MessagesList = { new Message { Metadata = new Federate.Protocol.FlowerFleet.Metadata { MessageType = "train" } } } }));
        Assert.Equal((StatusCode.FailedPrecondition, "this SuperNode pushes messages without an object tree, as Flower before 1.19 did" + Supported), (push.StatusCode, push.Status.Detail));
    }

    private static async Task<bool> BeatAsync(Fleet.FleetClient fleet, Node node) =>
        (await fleet.SendNodeHeartbeatAsync(new SendNodeHeartbeatRequest { Node = node, HeartbeatInterval = 30 })).Success;

    /// <summary>A server with a Flower port serving <c>app</c>, and a Fleet API client for it.</summary>
    private sealed class FleetApi(FleetServer server, GrpcChannel channel) : IAsyncDisposable
    {
        public Fleet.FleetClient Client { get; } = new(channel);

        public static async Task<FleetApi> StartAsync(string app)
        {
            var server = await FleetServer.StartAsync(new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FlowerPort = 0, FlowerApp = app });
            return new FleetApi(server, GrpcChannel.ForAddress($"http://127.0.0.1:{server.FlowerPort}"));
        }

        public async ValueTask DisposeAsync()
        {
            channel.Dispose();
            await server.DisposeAsync();
        }
    }
}
