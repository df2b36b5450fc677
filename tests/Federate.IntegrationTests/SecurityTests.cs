using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;
using Grpc.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Real processes, real kits, real TLS on 127.0.0.1: a secure run, and every refusal path with its one-line message.</summary>
public sealed class SecurityTests(ITestOutputHelper log)
{
    private static string[] Data(int id) => ["--dataset", "digits", "--dataset-id", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--num-partitions", "2", "--seed", "5"];

    [Fact]
    public async Task Kits_TwoSitesThreeRoundsOverTls_FinishWithSameModelAsPlainRun()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a,site-b", "--admins", "ops", "--out", kits);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["secure"], "--dataset", "digits", "--min-clients", "2", "--rounds", "3", "--seed", "5"));
        await using var a = FederateProcess.Start("site-a", log, SecureFleet.ClientArgs(port, Path.Combine(kits, "site-a"), Data(0)));
        await using var b = FederateProcess.Start("site-b", log, [.. SecureFleet.ClientArgs(port, Path.Combine(kits, "site-b"), Data(1)).Select(x => x == $"127.0.0.1:{port}" ? $"localhost:{port}" : x)]);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, await a.WaitForExitAsync());
        Assert.Equal(0, await b.WaitForExitAsync());
        Assert.Contains("TLS with the startup kit of project 'hospitals' (server names localhost,127.0.0.1); registration by challenge-response; payload encryption on", server.Output, StringComparison.Ordinal);
        Assert.Contains("listening on https://127.0.0.1", server.Output, StringComparison.Ordinal);
        Assert.Contains("'site-a' joined", server.Output, StringComparison.Ordinal);
        Assert.Contains("'site-b' joined", server.Output, StringComparison.Ordinal);
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["secure"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));

        // Encryption is transparent: the same seed gives the byte-identical model over plain HTTP/2.
        int plainPort = FederateProcess.FreePort();
        await using var plain = FederateProcess.Start("plain-server", log, Args.ServerArgs(plainPort, dir["plain"], "--dataset", "digits", "--min-clients", "2", "--rounds", "3", "--seed", "5"));
        await using var pa = FederateProcess.Start("plain-a", log, Args.ClientArgs(plainPort, [.. Data(0), "--name", "site-a"]));
        await using var pb = FederateProcess.Start("plain-b", log, Args.ClientArgs(plainPort, [.. Data(1), "--name", "site-b"]));
        Assert.Equal(0, await plain.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["plain"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["secure"], "model.safetensors")));
    }

    [Fact]
    public async Task Kits_StrangersRefusedWithOneLine_EnrolledSitesFinish()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a,site-b,site-r", "--admins", "ops", "--out", kits);
        await SecureFleet.ProvisionAsync(log, "--name", "rival", "--server", "localhost,127.0.0.1", "--clients", "site-a", "--out", dir["rival"]);

        // The deployed server kit: site-r revoked (revoked.json copied over), site-c added later to the provisioning
        // folder only, so the running server never enrolled it.
        var deployed = dir["deployed-server"];
        Directory.CreateDirectory(deployed);
        foreach (var f in Directory.GetFiles(Path.Combine(kits, "server")))
        {
            File.Copy(f, Path.Combine(deployed, Path.GetFileName(f)));
        }

        await SecureFleet.ProvisionAsync(log, "revoke", "site-r", "--out", kits);
        File.Copy(Path.Combine(kits, "server", "revoked.json"), Path.Combine(deployed, "revoked.json"), overwrite: true);
        await SecureFleet.ProvisionAsync(log, "add-client", "site-c", "--out", kits);

        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, deployed, dir["out"], "--dataset", "digits", "--min-clients", "2", "--rounds", "3", "--seed", "5"));
        await server.WaitForLineAsync("listening on");

        string K(string name) => Path.Combine(kits, name);
        var refusals = new (string Name, string[] Args, int Code, string Line)[]
        {
            ("other-project", SecureFleet.ClientArgs(port, Path.Combine(dir["rival"], "site-a"), Data(0)), 1,
                "error: the server's TLS certificate is not issued by this kit's project CA or does not name the host in --server; check --kit and --server"),
            ("no-kit-insecure", Args.ClientArgs(port, Data(0)), 1,
                "error: the server does not speak plain HTTP/2: it requires TLS; connect with --kit DIR (this site's startup kit) instead of --insecure"),
            ("no-kit", ["client", "--server", $"127.0.0.1:{port}", .. Data(0)], 2,
                "error: give --kit DIR (this site's startup kit from 'federate provision') to connect over TLS, or --insecure for a plain development server"),
            ("revoked", SecureFleet.ClientArgs(port, K("site-r"), Data(0)), 1,
                "error: the server refused to register this client: registration refused: the certificate of 'site-r' has been revoked"),
            ("not-enrolled", SecureFleet.ClientArgs(port, K("site-c"), Data(0)), 1,
                "error: the server refused to register this client: registration refused: 'site-c' is not an enrolled client of project 'hospitals'"),
        };
        foreach (var (name, args, code, line) in refusals)
        {
            await using var bad = FederateProcess.Start(name, log, args);
            Assert.Equal(code, await bad.WaitForExitAsync());
            var errors = bad.Output.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
            Assert.Equal([line], errors);
        }

        // Raw calls: a replayed registration, a tampered token, a foreign certificate over a trusted TLS channel.
        using (var channel = SecureFleet.Channel(port, K("site-a/ca.pem")))
        {
            var fleet = new Fleet.FleetClient(channel);
            var deadline = () => DateTime.UtcNow.AddSeconds(30);
            var (request, reply) = await SecureFleet.RegisterAsync(fleet, K("site-a"));
            Assert.False(string.IsNullOrEmpty(reply.SessionToken));
            Assert.Equal(256, reply.WrappedPayloadKey.Length);
            using (var siteA = new Federate.Security.ClientIdentity(Federate.Security.StartupKit.Load(K("site-a"))))
            using (var serverKit = Federate.Security.StartupKit.Load(K("server")))
            {
                var key = siteA.UnwrapPayloadKey(reply.WrappedPayloadKey.ToByteArray(), serverKit.Certificate.RawData, request.ServerNonce.Span, reply.PayloadKeySignature.ToByteArray());
                Assert.Equal(32, key.Length);
            }

            var replay = await Assert.ThrowsAsync<RpcException>(() => fleet.RegisterAsync(request, deadline: deadline()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, replay.StatusCode);
            Assert.Equal("registration refused: the server nonce is unknown, already used or expired (a replayed registration?); start again with a new hello", replay.Status.Detail);

            var token = reply.SessionToken;
            var tampered = token[..10] + (token[10] == 'x' ? 'y' : 'x') + token[11..];
            var forged = await Assert.ThrowsAsync<RpcException>(() => fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = reply.NodeId }, SecureFleet.Token(tampered), deadline()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
            Assert.Equal("session token refused: its signature is not the server's (forged or tampered)", forged.Status.Detail);

            var missing = await Assert.ThrowsAsync<RpcException>(() => fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = reply.NodeId }, deadline: deadline()).ResponseAsync);
            Assert.Equal("no session token: register with a startup kit first (the 'federate-session' header is missing)", missing.Status.Detail);

            var otherNode = await Assert.ThrowsAsync<RpcException>(() => fleet.QuitAsync(new QuitRequest { NodeId = reply.NodeId + 1000 }, SecureFleet.Token(token), deadline()).ResponseAsync);
            Assert.Equal($"session token refused: it is bound to node {reply.NodeId}, not node {reply.NodeId + 1000}", otherNode.Status.Detail);

            var noCredentials = await Assert.ThrowsAsync<RpcException>(() => fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "plain" }, deadline: deadline()).ResponseAsync);
            Assert.Equal("this server requires a startup kit: run the client with --kit DIR (a client kit from 'federate provision')", noCredentials.Status.Detail);

            // A certificate of another project, signed correctly over a fresh server nonce.
            var hello = await fleet.HelloAsync(new HelloRequest { ProtocolVersion = FleetProtocol.Version, ClientNonce = ByteString.CopyFrom(new byte[32]) }, deadline: deadline());
            using var rival = Federate.Security.StartupKit.Load(Path.Combine(dir["rival"], "site-a"));
            using var rivalIdentity = new Federate.Security.ClientIdentity(rival);
            var foreign = await Assert.ThrowsAsync<RpcException>(() => fleet.RegisterAsync(new RegisterRequest
            {
                ProtocolVersion = FleetProtocol.Version,
                ServerNonce = hello.ServerNonce,
                ClientCertificate = ByteString.CopyFrom(rivalIdentity.CertificateDer),
                ClientCn = "site-a",
                Signature = ByteString.CopyFrom(rivalIdentity.SignRegistration(hello.ServerNonce.Span)),
            }, deadline: deadline()).ResponseAsync);
            Assert.Equal("registration refused: the certificate of 'site-a' is not issued by this project's CA ('hospitals Root CA')", foreign.Status.Detail);

            await fleet.QuitAsync(new QuitRequest { NodeId = reply.NodeId, Reason = "test done" }, SecureFleet.Token(token), deadline());
            var afterQuit = await Assert.ThrowsAsync<RpcException>(() => fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = reply.NodeId }, SecureFleet.Token(token), deadline()).ResponseAsync);
            Assert.Equal("session token refused: it was superseded or its session ended (a replayed token?); register again", afterQuit.Status.Detail);
        }

        // The enrolled sites finish the run.
        await using var a = FederateProcess.Start("site-a", log, SecureFleet.ClientArgs(port, K("site-a"), Data(0)));
        await using var b = FederateProcess.Start("site-b", log, SecureFleet.ClientArgs(port, K("site-b"), Data(1)));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, await a.WaitForExitAsync());
        Assert.Equal(0, await b.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));
        Assert.Contains("registration refused: the certificate of 'site-r' has been revoked", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provision_AdminToken_PrintsVerifiableToken()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost", "--clients", "site-a", "--admins", "ops", "--out", kits);
        await using var p = FederateProcess.Start("admin-token", log, "admin", "token", "--kit", Path.Combine(kits, "ops"), "--ttl", "5");
        Assert.Equal(0, await p.WaitForExitAsync());
        var token = p.Output.Trim();
        using var identity = new Federate.Security.ServerIdentity(Federate.Security.StartupKit.Load(Path.Combine(kits, "server")));
        Assert.Equal("ops", new Federate.Server.KitAdminAuthenticator(identity).Authenticate("Bearer " + token, out var problem));
        Assert.Null(problem);

        await using var wrong = FederateProcess.Start("admin-token-client-kit", log, "admin", "token", "--kit", Path.Combine(kits, "site-a"));
        Assert.Equal(2, await wrong.WaitForExitAsync());
        Assert.Equal($"error: '{Path.Combine(kits, "site-a")}' is a kit for the role 'client', but this command needs the role 'admin'", wrong.Output.Trim());
    }

    [Fact]
    public async Task Inspector_WithKit_ServesHttpsAndAdminActionsNeedAnAdminKitToken()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a", "--admins", "ops", "--out", kits);
        await SecureFleet.ProvisionAsync(log, "--name", "rival", "--server", "localhost,127.0.0.1", "--clients", "site-x", "--admins", "eve", "--out", dir["rival"]);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["out"], "--dataset", "digits", "--min-clients", "1", "--rounds", "3", "--manual"));
        var line = await server.WaitForLineAsync("inspector: https://");
        var url = new Uri(line[line.IndexOf("https://", StringComparison.Ordinal)..].Trim());
        await using var site = FederateProcess.Start("site-a", log, SecureFleet.ClientArgs(port, Path.Combine(kits, "site-a"), Data(0)));
        await server.WaitForLineAsync("'site-a' joined");

        // The dashboard's certificate is the server's, trusted through the project CA only.
        using var http = new HttpClient(SecureFleet.Handler(Path.Combine(kits, "site-a", "ca.pem"))) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        using (var page = await http.GetAsync(""))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        }

        async Task<(System.Net.HttpStatusCode Status, string Body)> NextRoundAsync(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/runs/current/rounds");
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        async Task<string> AdminTokenAsync(string kit)
        {
            await using var p = FederateProcess.Start("admin-token", log, "admin", "token", "--kit", kit);
            Assert.Equal(0, await p.WaitForExitAsync());
            return p.Output.Trim();
        }

        // No credential, a shared-secret guess and another project's admin token: refused with a problem naming why.
        var (status, body) = await NextRoundAsync(null);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, status);
        Assert.Contains("no admin credential: send 'Authorization: Bearer TOKEN' with a token from 'federate admin token --kit ADMIN_KIT'", body, StringComparison.Ordinal);
        (status, body) = await NextRoundAsync("secret");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, status);
        Assert.Contains("admin credential refused: ", body, StringComparison.Ordinal);
        (status, body) = await NextRoundAsync(await AdminTokenAsync(Path.Combine(dir["rival"], "eve")));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, status);
        Assert.Contains("admin credential refused: the certificate of 'eve' is not issued by this project's CA", body, StringComparison.Ordinal);

        // The project's admin: the round starts.
        var admin = await AdminTokenAsync(Path.Combine(kits, "ops"));
        (status, body) = await NextRoundAsync(admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, status);
        Assert.Equal("{\"round\":1}", body);
        await server.WaitForLineAsync("round 1:");

        // With a kit the global model and the per-node details are the admin's only; the status stays open.
        async Task<(System.Net.HttpStatusCode Status, byte[] Body)> GetAsync(string path, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
        }

        foreach (var path in new[] { "api/model", "api/model.npz", "api/nodes" })
        {
            var (anonymous, problem) = await GetAsync(path, null);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous);
            Assert.Contains("no admin credential: send 'Authorization: Bearer TOKEN'", System.Text.Encoding.UTF8.GetString(problem), StringComparison.Ordinal);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await GetAsync(path, await AdminTokenAsync(Path.Combine(dir["rival"], "eve")))).Status);
        }

        var (modelStatus, model) = await GetAsync("api/model", admin);
        Assert.Equal(System.Net.HttpStatusCode.OK, modelStatus);
        var global = Federate.Core.Formats.Safetensors.Read(new MemoryStream(model), out var metadata);
        Assert.NotEmpty(global);
        Assert.True(metadata.ContainsKey("round"));
        var (npzStatus, npz) = await GetAsync("api/model.npz", admin);
        Assert.Equal(System.Net.HttpStatusCode.OK, npzStatus);
        Assert.Equal((byte)'P', npz[0]); // a zip archive
        var (nodesStatus, nodes) = await GetAsync("api/nodes", admin);
        Assert.Equal(System.Net.HttpStatusCode.OK, nodesStatus);
        Assert.Contains("\"name\":\"site-a\"", System.Text.Encoding.UTF8.GetString(nodes), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await GetAsync("api/status", null)).Status);
        site.Interrupt();
        server.Interrupt();
    }
}
