using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Helpers for tests against a server with startup kits: provisioning through the CLI and a raw TLS gRPC channel.</summary>
internal static class SecureFleet
{
    public static async Task ProvisionAsync(ITestOutputHelper log, params string[] args)
    {
        await using var p = FederateProcess.Start("provision", log, ["provision", .. args]);
        Assert.Equal(0, await p.WaitForExitAsync());
    }

    public static string[] ServerArgs(int port, string kit, string outDir, params string[] more) =>
        ["server", "--kit", kit, "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", outDir,
         "--heartbeat-interval", "0.5", "--node-expiry", "4", "--state-dir", Path.Combine(outDir, "state"), "--inspector-port", "0", .. more];

    public static string[] ClientArgs(int port, string kit, params string[] more) =>
        ["client", "--kit", kit, "--server", $"127.0.0.1:{port}", "--retry-interval", "0.2", "--max-retry-interval", "0.5", .. more];

    /// <summary>An HTTP handler for TLS that trusts only <paramref name="caPem"/> (and checks the server name).</summary>
    public static SocketsHttpHandler Handler(string caPem)
    {
        var ca = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(string.Concat(File.ReadAllLines(caPem).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))));
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                {
                    if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
                },
            },
            EnableMultipleHttp2Connections = true,
        };
        return handler;
    }

    /// <summary>A gRPC channel over TLS that trusts only <paramref name="caPem"/>.</summary>
    public static GrpcChannel Channel(int port, string caPem, string? localAddress = null)
    {
        var handler = Handler(caPem);
        if (localAddress is not null)
        {
            // Connect from another loopback address, so the server sees (and rate-limits) a different peer.
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(localAddress), 0));
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, context.DnsEndPoint.Port, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            };
        }

        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler, MaxSendMessageSize = null, MaxReceiveMessageSize = null });
    }

    /// <summary>Runs design 5 with a kit through <paramref name="fleet"/>; returns the register request (for replays) and reply.</summary>
    public static async Task<(RegisterRequest Request, RegisterReply Reply)> RegisterAsync(Fleet.FleetClient fleet, string kitDir, int partition = -1)
    {
        using var kit = StartupKit.Load(kitDir);
        using var identity = new ClientIdentity(kit);
        var nonce = ClientIdentity.NewNonce();
        var hello = await fleet.HelloAsync(new HelloRequest { ProtocolVersion = FleetProtocol.Version, ClientNonce = ByteString.CopyFrom(nonce) }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Null(identity.VerifyServer(nonce, hello.ServerCertificate.Span, hello.ServerCn, hello.Signature.Span, DateTimeOffset.UtcNow));
        var request = new RegisterRequest
        {
            ProtocolVersion = FleetProtocol.Version,
            Name = kit.Name,
            PartitionId = partition,
            ServerNonce = hello.ServerNonce,
            ClientCertificate = ByteString.CopyFrom(identity.CertificateDer),
            ClientCn = identity.CommonName,
            Signature = ByteString.CopyFrom(identity.SignRegistration(hello.ServerNonce.Span)),
        };
        var reply = await fleet.RegisterAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
        return (request, reply);
    }

    public static Metadata Token(string token) => new() { { SessionTokens.Header, token } };
}
