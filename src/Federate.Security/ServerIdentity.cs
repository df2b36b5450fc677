using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federate.Security;

/// <summary>
/// The server side of registration: answers hellos with a signed challenge, verifies registrations (certificate chain
/// to the project CA, not revoked, CN enrolled as a client, CN equal to the certificate's, signature over the server's
/// one-time nonce), and issues session tokens. Server nonces are single use and expire, so a captured registration
/// cannot be replayed.
/// </summary>
public sealed class ServerIdentity : IDisposable
{
    /// <summary>Length of nonces in bytes.</summary>
    public const int NonceLength = 32;

    private const int MaxOutstandingChallenges = 4096;
    private readonly ConcurrentDictionary<string, long> _challenges = new();
    private readonly TimeProvider _time;
    private readonly RSA _key;
    private readonly byte[] _certificateDer;
    private readonly string _commonName;
    private readonly byte[] _commonNameUtf8;
    private readonly Lock _listsLock = new();
    private DateTime _participantsStamp = DateTime.MinValue;
    private DateTime _revokedStamp = DateTime.MinValue;
    private Participants _participants = new();
    private HashSet<string> _revokedSerials = [];

    /// <summary>Wraps a server kit.</summary>
    public ServerIdentity(StartupKit kit, TimeProvider? time = null, TimeSpan? sessionTtl = null)
    {
        Kit = kit ?? throw new ArgumentNullException(nameof(kit));
        if (kit.Settings.Role != KitRoles.Server)
        {
            throw new SecurityException($"'{kit.Directory}' is a kit for the role '{kit.Settings.Role}'; the server needs the 'server' kit");
        }

        _time = time ?? TimeProvider.System;
        _key = kit.Certificate.GetRSAPrivateKey() ?? throw new SecurityException("the server kit's key is not an RSA key");
        _certificateDer = kit.Certificate.RawData;
        _commonName = Pki.CommonName(kit.Certificate);
        _commonNameUtf8 = System.Text.Encoding.UTF8.GetBytes(_commonName);
        Tokens = new SessionTokens(_key, _time, sessionTtl ?? TimeSpan.FromMinutes(10));
        Refresh();
    }

    /// <summary>The server kit.</summary>
    public StartupKit Kit { get; }

    /// <summary>Session tokens signed with the server key.</summary>
    public SessionTokens Tokens { get; }

    /// <summary>How long a challenge stays usable.</summary>
    public TimeSpan ChallengeLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Answers a hello, or returns a one-line problem.</summary>
    public ServerHello? Hello(ReadOnlySpan<byte> clientNonce, out string? problem)
    {
        if (clientNonce.Length != NonceLength)
        {
            problem = $"the client nonce must be {NonceLength} bytes, got {clientNonce.Length}";
            return null;
        }

        long now = _time.GetTimestamp();
        if (_challenges.Count >= MaxOutstandingChallenges)
        {
            foreach (var (k, issued) in _challenges)
            {
                if (_time.GetElapsedTime(issued, now) > ChallengeLifetime)
                {
                    _challenges.TryRemove(k, out _);
                }
            }

            if (_challenges.Count >= MaxOutstandingChallenges)
            {
                problem = "too many registrations in progress; try again shortly";
                return null;
            }
        }

        var serverNonce = RandomNumberGenerator.GetBytes(NonceLength);
        _challenges[Convert.ToHexString(serverNonce)] = now;
        var signature = Pki.Sign(_key, Purposes.Hello, clientNonce.ToArray(), _commonNameUtf8);
        problem = null;
        return new ServerHello(_certificateDer, _commonName, signature, serverNonce);
    }

    /// <summary>Verifies a registration; returns the client or null with a one-line problem.</summary>
    public VerifiedClient? VerifyRegistration(ReadOnlySpan<byte> serverNonce, ReadOnlySpan<byte> certificateDer, string claimedCn, ReadOnlySpan<byte> signature, out string? problem)
    {
        if (serverNonce.IsEmpty && certificateDer.IsEmpty)
        {
            problem = "this server requires a startup kit: run the client with --kit DIR (a client kit from 'federate provision')";
            return null;
        }

        if (!_challenges.TryRemove(Convert.ToHexString(serverNonce), out long issued) || _time.GetElapsedTime(issued) > ChallengeLifetime)
        {
            problem = "registration refused: the server nonce is unknown, already used or expired (a replayed registration?); start again with a new hello";
            return null;
        }

        var certificate = Pki.TryLoad(certificateDer);
        if (certificate is null)
        {
            problem = "registration refused: the client certificate is not a valid X.509 certificate";
            return null;
        }

        bool handedOver = false;
        try
        {
            Refresh();
            if (Pki.ValidateChain(certificate, Kit.CaCertificate, _time.GetUtcNow()) is { } chainProblem)
            {
                problem = $"registration refused: {chainProblem}";
                return null;
            }

            string cn = Pki.CommonName(certificate);
            if (cn != claimedCn)
            {
                problem = $"registration refused: the claimed name '{Trim(claimedCn)}' differs from the certificate's CN '{cn}'";
                return null;
            }

            string serial = Pki.Serial(certificate);
            if (IsRevoked(serial))
            {
                problem = $"registration refused: the certificate of '{cn}' has been revoked";
                return null;
            }

            if (Pki.Role(certificate) != KitRoles.Client || !IsEnrolledClient(cn))
            {
                problem = $"registration refused: '{cn}' is not an enrolled client of project '{Kit.Settings.Project}'";
                return null;
            }

            using var publicKey = certificate.GetRSAPublicKey();
            if (publicKey is null || !Pki.Verify(publicKey, signature.ToArray(), Purposes.Register, serverNonce.ToArray(), System.Text.Encoding.UTF8.GetBytes(claimedCn)))
            {
                problem = $"registration refused: the signature of '{cn}' does not verify with its certificate";
                return null;
            }

            problem = null;
            handedOver = true;
            return new VerifiedClient(cn, serial, certificate);
        }
        finally
        {
            if (!handedOver)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>Signs a wrapped payload key for the registration that used <paramref name="serverNonce"/>.</summary>
    public byte[] SignPayloadKey(byte[] wrappedKey, ReadOnlySpan<byte> serverNonce) =>
        Pki.Sign(_key, Purposes.PayloadKey, wrappedKey, serverNonce.ToArray());

    /// <summary>True when the certificate serial is on the (current) revocation list.</summary>
    public bool IsRevoked(string serial)
    {
        lock (_listsLock)
        {
            return _revokedSerials.Contains(serial);
        }
    }

    /// <summary>True when <paramref name="name"/> is an enrolled client.</summary>
    public bool IsEnrolledClient(string name)
    {
        lock (_listsLock)
        {
            return _participants.Clients.Contains(name);
        }
    }

    /// <summary>True when <paramref name="name"/> is an enrolled admin.</summary>
    public bool IsEnrolledAdmin(string name)
    {
        lock (_listsLock)
        {
            return _participants.Admins.Contains(name);
        }
    }

    /// <summary>Re-reads participants.json and revoked.json when they changed on disk.</summary>
    public void Refresh()
    {
        var participantsPath = Path.Combine(Kit.Directory, StartupKit.ParticipantsFile);
        var revokedPath = Path.Combine(Kit.Directory, StartupKit.RevokedFile);
        var pStamp = File.Exists(participantsPath) ? File.GetLastWriteTimeUtc(participantsPath) : DateTime.MinValue;
        var rStamp = File.Exists(revokedPath) ? File.GetLastWriteTimeUtc(revokedPath) : DateTime.MinValue;
        lock (_listsLock)
        {
            if (pStamp != _participantsStamp)
            {
                _participants = Kit.ReadParticipants();
                _participantsStamp = pStamp;
            }

            if (rStamp != _revokedStamp)
            {
                _revokedSerials = [.. Kit.ReadRevocations().Revoked.Select(r => r.Serial)];
                _revokedStamp = rStamp;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private static string Trim(string s) => s.Length > 64 ? s[..64] + "..." : s;
}
