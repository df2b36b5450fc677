using System.Security.Cryptography.X509Certificates;
using Federate.Server;
using Microsoft.Extensions.Time.Testing;

namespace Federate.Security.Tests;

/// <summary>Design 5's challenge-response, session tokens and admin tokens with real certificates from real kits.</summary>
public sealed class RegistrationTests(ProjectFixture project) : IClassFixture<ProjectFixture>
{
    private (ServerHello Hello, byte[] ClientNonce) Hello(ServerIdentity server)
    {
        var nonce = ClientIdentity.NewNonce();
        var hello = server.Hello(nonce, out var problem);
        Assert.Null(problem);
        return (hello!, nonce);
    }

    [Fact]
    public void Register_EnrolledClient_VerifiedBothWays()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var (hello, nonce) = Hello(server);
        Assert.Null(client.VerifyServer(nonce, hello.Certificate, hello.CommonName, hello.Signature, DateTimeOffset.UtcNow));
        var verified = server.VerifyRegistration(hello.ServerNonce, client.CertificateDer, "a", client.SignRegistration(hello.ServerNonce), out var problem);
        Assert.Null(problem);
        Assert.Equal("a", verified!.CommonName);
        Assert.Equal(Pki.Serial(client.Kit.Certificate), verified.Serial);
    }

    [Fact]
    public void Register_Replayed_Refused()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var (hello, _) = Hello(server);
        var signature = client.SignRegistration(hello.ServerNonce);
        Assert.NotNull(server.VerifyRegistration(hello.ServerNonce, client.CertificateDer, "a", signature, out _));
        Assert.Null(server.VerifyRegistration(hello.ServerNonce, client.CertificateDer, "a", signature, out var problem));
        Assert.Equal("registration refused: the server nonce is unknown, already used or expired (a replayed registration?); start again with a new hello", problem);
    }

    [Fact]
    public void Register_ChallengeExpired_Refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"), time);
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var (hello, _) = Hello(server);
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(server.VerifyRegistration(hello.ServerNonce, client.CertificateDer, "a", client.SignRegistration(hello.ServerNonce), out var problem));
        Assert.StartsWith("registration refused: the server nonce is unknown, already used or expired", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("other", "a", "a", "registration refused: the certificate of 'a' is not issued by this project's CA ('demo Root CA')")]
    [InlineData("demo", "r", "r", "registration refused: the certificate of 'r' has been revoked")]
    [InlineData("demo", "a", "b", "registration refused: the claimed name 'b' differs from the certificate's CN 'a'")]
    public void Register_BadCertificateOrName_Refused(string projectName, string kitName, string claimed, string expected)
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var kit = project.Kit(Path.Combine(project.Root, projectName), kitName);
        using var key = kit.Certificate.GetRSAPrivateKey()!;
        var (hello, _) = Hello(server);
        var signature = Pki.Sign(key, "federate-register-v1", hello.ServerNonce, System.Text.Encoding.UTF8.GetBytes(claimed));
        Assert.Null(server.VerifyRegistration(hello.ServerNonce, kit.Certificate.RawData, claimed, signature, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void Register_AdminCertificateOrUnenrolledClient_NotEnrolled()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var admin = project.Kit(project.Demo, "x");
        using var key = admin.Certificate.GetRSAPrivateKey()!;
        var (hello, _) = Hello(server);
        var signature = Pki.Sign(key, "federate-register-v1", hello.ServerNonce, "x"u8.ToArray());
        Assert.Null(server.VerifyRegistration(hello.ServerNonce, admin.Certificate.RawData, "x", signature, out var problem));
        Assert.Equal("registration refused: 'x' is not an enrolled client of project 'demo'", problem);
    }

    [Fact]
    public void Register_SignatureOverOtherNonce_Refused()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var (hello, _) = Hello(server);
        Assert.Null(server.VerifyRegistration(hello.ServerNonce, client.CertificateDer, "a", client.SignRegistration(new byte[32]), out var problem));
        Assert.Equal("registration refused: the signature of 'a' does not verify with its certificate", problem);
    }

    [Fact]
    public void Register_NoCredentials_SaysUseKit()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        Assert.Null(server.VerifyRegistration([], [], "", [], out var problem));
        Assert.Equal("this server requires a startup kit: run the client with --kit DIR (a client kit from 'federate provision')", problem);
    }

    [Fact]
    public void VerifyServer_OtherProjectsServerOrBadSignature_Refused()
    {
        using var otherServer = new ServerIdentity(project.Kit(project.Other, "server"));
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var nonce = ClientIdentity.NewNonce();
        var hello = otherServer.Hello(nonce, out _)!;
        Assert.Equal("the server is not part of this project: the certificate of 'server' is not issued by this project's CA ('demo Root CA')", client.VerifyServer(nonce, hello.Certificate, hello.CommonName, hello.Signature, DateTimeOffset.UtcNow));

        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        var good = server.Hello(nonce, out _)!;
        Assert.Equal("the server's hello signature does not verify with its certificate", client.VerifyServer(ClientIdentity.NewNonce(), good.Certificate, good.CommonName, good.Signature, DateTimeOffset.UtcNow));
        Assert.Equal("the server claims CN 'evil' but its certificate says 'server' (server)", client.VerifyServer(nonce, good.Certificate, "evil", good.Signature, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Tokens_ValidTamperedExpiredReplayedWrongNode()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"), time, TimeSpan.FromMinutes(1));
        var (t1, _) = server.Tokens.Issue(7, "a", "01", "run");
        Assert.Equal(new SessionClaims(7, "a", "01"), server.Tokens.Verify(t1, 7, "run", out _));

        var tampered = t1[..5] + (t1[5] == 'A' ? 'B' : 'A') + t1[6..];
        Assert.Null(server.Tokens.Verify(tampered, 7, "run", out var problem));
        Assert.Equal("session token refused: its signature is not the server's (forged or tampered)", problem);
        Assert.Null(server.Tokens.Verify(t1, 8, "run", out problem));
        Assert.Equal("session token refused: it is bound to node 7, not node 8", problem);
        Assert.Null(server.Tokens.Verify(t1, 7, "other-run", out problem));
        Assert.Equal("session token refused: it belongs to another run; register again", problem);
        Assert.Null(server.Tokens.Verify(null, 7, "run", out problem));
        Assert.Equal("no session token: register with a startup kit first (the 'federate-session' header is missing)", problem);
        Assert.Null(server.Tokens.Verify("garbage", 7, "run", out problem));
        Assert.Equal("session token refused: it is malformed", problem);

        // Renewal: the previous token stays usable for calls in flight; the one before is a replay.
        var (t2, _) = server.Tokens.Issue(7, "a", "01", "run");
        Assert.NotNull(server.Tokens.Verify(t1, 7, "run", out _));
        var (t3, _) = server.Tokens.Issue(7, "a", "01", "run");
        Assert.Null(server.Tokens.Verify(t1, 7, "run", out problem));
        Assert.Equal("session token refused: it was superseded or its session ended (a replayed token?); register again", problem);
        Assert.NotNull(server.Tokens.Verify(t2, 7, "run", out _));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(server.Tokens.Verify(t3, 7, "run", out problem));
        Assert.Equal("session token refused: it has expired; register again", problem);

        var (t4, _) = server.Tokens.Issue(9, "b", "02", "run");
        server.Tokens.Forget(9);
        Assert.Null(server.Tokens.Verify(t4, 9, "run", out problem));
        Assert.StartsWith("session token refused: it was superseded or its session ended", problem, StringComparison.Ordinal);

        using var otherServer = new ServerIdentity(project.Kit(project.Other, "server"), time);
        var (foreign, _) = otherServer.Tokens.Issue(7, "a", "01", "run");
        Assert.Null(server.Tokens.Verify(foreign, 7, "run", out problem));
        Assert.Equal("session token refused: its signature is not the server's (forged or tampered)", problem);
    }

    [Fact]
    public void AdminToken_FromAdminKit_AcceptedByKitAuthenticator()
    {
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        using var admin = project.Kit(project.Demo, "x");
        var auth = new KitAdminAuthenticator(server);
        var token = AdminTokens.Create(admin, TimeSpan.FromMinutes(5));
        Assert.Equal("x", auth.Authenticate("Bearer " + token, out var problem));
        Assert.Null(problem);

        Assert.Null(auth.Authenticate(null, out problem));
        Assert.Equal("no admin credential: send 'Authorization: Bearer TOKEN' with a token from 'federate admin token --kit ADMIN_KIT'", problem);
        var parts = token.Split('.');
        var tampered = string.Join('.', parts[0], AdminTokenTamper(parts[1]), parts[2], parts[3]);
        Assert.Null(auth.Authenticate("Bearer " + tampered, out problem));
        Assert.Equal("admin credential refused: the signature does not verify (tampered token)", problem);
    }

    private static string AdminTokenTamper(string claims)
    {
        var json = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(claims));
        json = json.Replace("\"exp\":", "\"exp\":9", StringComparison.Ordinal);
        return System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(json));
    }

    [Fact]
    public void AdminToken_ExpiredRevokedClientOrForeign_Refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = new ServerIdentity(project.Kit(project.Demo, "server"), time);
        using var admin = project.Kit(project.Demo, "x");
        var token = AdminTokens.Create(admin, TimeSpan.FromMinutes(5), time);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(AdminTokens.Verify(token, server, time, out var problem));
        Assert.Equal("admin credential refused: the token has expired; create a new one with 'federate admin token'", problem);

        using var revoked = project.Kit(project.Demo, "y");
        Assert.Null(AdminTokens.Verify(AdminTokens.Create(revoked, TimeSpan.FromMinutes(5), time), server, time, out problem));
        Assert.Equal("admin credential refused: the certificate of 'y' has been revoked", problem);

        using var foreign = project.Kit(project.Other, "x");
        Assert.Null(AdminTokens.Verify(AdminTokens.Create(foreign, TimeSpan.FromMinutes(5), time), server, time, out problem));
        Assert.Equal("admin credential refused: the certificate of 'x' is not issued by this project's CA ('demo Root CA')", problem);

        using var client = project.Kit(project.Demo, "a");
        Assert.Equal("'" + client.Directory + "' is a kit for the role 'client'; admin tokens need an admin kit", Assert.Throws<SecurityException>(() => AdminTokens.Create(client, TimeSpan.FromMinutes(5))).Message);
        Assert.Null(AdminTokens.Verify("Bearer nope", server, time, out problem));
        Assert.Equal("admin credential refused: not an admin token; create one with 'federate admin token --kit ADMIN_KIT'", problem);
    }

    [Fact]
    public void PayloadCipher_RoundTripTamperAndWrongPlace_Refused()
    {
        using var client = new ClientIdentity(project.Kit(project.Demo, "a"));
        var key = PayloadCipher.NewKey();
        var unwrapped = client.UnwrapPayloadKey(PayloadCipher.Wrap(key, client.Kit.Certificate));
        Assert.Equal(key, unwrapped);

        var sender = new PayloadCipher(key, 3);
        var receiver = new PayloadCipher(unwrapped, 3);
        var plain = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        var (cipher, nonce, tag) = sender.Encrypt(plain, PayloadDirection.ToServer, 2, 4096);
        Assert.NotEqual(plain, cipher);
        Assert.Equal(plain, receiver.Decrypt(cipher, nonce, tag, PayloadDirection.ToServer, 2, 4096, out _));

        cipher[17] ^= 1;
        Assert.Null(receiver.Decrypt(cipher, nonce, tag, PayloadDirection.ToServer, 2, 4096, out var problem));
        Assert.Equal("chunk of tensor 2 at byte offset 4096 fails AES-GCM authentication (tampered or wrong key)", problem);
        cipher[17] ^= 1;
        Assert.Null(receiver.Decrypt(cipher, nonce, tag, PayloadDirection.ToClient, 2, 4096, out _));
        Assert.Null(receiver.Decrypt(cipher, nonce, tag, PayloadDirection.ToServer, 2, 0, out _));
        Assert.Null(new PayloadCipher(key, 4).Decrypt(cipher, nonce, tag, PayloadDirection.ToServer, 2, 4096, out _));
        Assert.Null(receiver.Decrypt(plain, [], [], PayloadDirection.ToServer, 2, 4096, out problem));
        Assert.Equal("chunk of tensor 2 at byte offset 4096 is not encrypted (payload encryption is on for this session)", problem);

        using var server = new ServerIdentity(project.Kit(project.Demo, "server"));
        var nonceForKey = ClientIdentity.NewNonce();
        var wrapped = PayloadCipher.Wrap(key, client.Kit.Certificate);
        var signed = server.SignPayloadKey(wrapped, nonceForKey);
        Assert.Equal(key, client.UnwrapPayloadKey(wrapped, server.Kit.Certificate.RawData, nonceForKey, signed));
        var substituted = PayloadCipher.Wrap(PayloadCipher.NewKey(), client.Kit.Certificate);
        Assert.Equal(
            "refusing the server: its payload key is not signed by the server (substituted on the way?)",
            Assert.Throws<SecurityException>(() => client.UnwrapPayloadKey(substituted, server.Kit.Certificate.RawData, nonceForKey, signed)).Message);

        using var other = new ClientIdentity(project.Kit(project.Demo, "b"));
        Assert.Throws<SecurityException>(() => other.UnwrapPayloadKey(PayloadCipher.Wrap(key, client.Kit.Certificate)));
    }

    [Fact]
    public void PayloadCipher_DecryptInPlace_GivesThePlaintextInTheSameBuffer()
    {
        var key = PayloadCipher.NewKey();
        var sender = new PayloadCipher(key, 7);
        var receiver = new PayloadCipher(key, 7);
        var plain = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray();
        var (cipher, nonce, tag) = sender.Encrypt(plain, PayloadDirection.ToClient, 1, 8192);

        var buffer = cipher.ToArray();
        Assert.True(receiver.TryDecryptInPlace(buffer, nonce, tag, PayloadDirection.ToClient, 1, 8192, out var problem));
        Assert.Null(problem);
        Assert.Equal(plain, buffer);

        var tampered = cipher.ToArray();
        tampered[5] ^= 1;
        Assert.False(receiver.TryDecryptInPlace(tampered, nonce, tag, PayloadDirection.ToClient, 1, 8192, out problem));
        Assert.Equal("chunk of tensor 1 at byte offset 8192 fails AES-GCM authentication (tampered or wrong key)", problem);
        Assert.False(receiver.TryDecryptInPlace(cipher.ToArray(), nonce, tag, PayloadDirection.ToServer, 1, 8192, out _));
        Assert.False(receiver.TryDecryptInPlace(cipher.ToArray(), [], tag, PayloadDirection.ToClient, 1, 8192, out problem));
        Assert.Equal("chunk of tensor 1 at byte offset 8192 is not encrypted (payload encryption is on for this session)", problem);
    }
}
