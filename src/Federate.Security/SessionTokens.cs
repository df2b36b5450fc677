using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace Federate.Security;

/// <summary>
/// Session tokens: <c>base64url(claims JSON).base64url(signature)</c>, signed with the server key, bound to a node
/// id, the client's CN and certificate serial and the run, expiring. Each node has one current token (and the one
/// before it, for calls in flight while a heartbeat renews); any older token of the node is a replay and refused,
/// as is every token of a node that left.
/// </summary>
public sealed class SessionTokens
{
    /// <summary>The call metadata header that carries the token.</summary>
    public const string Header = "federate-session";

    private const int MaxTokenLength = 4096;
    private readonly RSA _key;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, (string Current, string? Previous)> _live = new();

    internal SessionTokens(RSA key, TimeProvider time, TimeSpan lifetime)
    {
        _key = key;
        _time = time;
        Lifetime = lifetime;
    }

    /// <summary>How long a token is valid.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Issues a new token for a node (it replaces the node's current one).</summary>
    public (string Token, DateTimeOffset Expires) Issue(long nodeId, string commonName, string serial, string runId)
    {
        var expires = _time.GetUtcNow() + Lifetime;
        var claims = new TokenClaims { Node = nodeId, Cn = commonName, Serial = serial, Run = runId, ExpiresMs = expires.ToUnixTimeMilliseconds(), Id = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)) };
        var payload = JsonSerializer.SerializeToUtf8Bytes(claims, KitJson.Default.TokenClaims);
        var signature = Pki.Sign(_key, Purposes.Session, payload);
        _live.AddOrUpdate(nodeId, (claims.Id, null), (_, old) => (claims.Id, old.Current));
        return (Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(signature), expires);
    }

    /// <summary>Forgets a node's tokens (it quit or expired).</summary>
    public void Forget(long nodeId) => _live.TryRemove(nodeId, out _);

    /// <summary>Checks a token for a call about <paramref name="nodeId"/> (0: any node); null with a one-line problem when refused.</summary>
    public SessionClaims? Verify(string? token, long nodeId, string runId, out string? problem)
    {
        if (string.IsNullOrEmpty(token))
        {
            problem = $"no session token: register with a startup kit first (the '{Header}' header is missing)";
            return null;
        }

        int dot = token.IndexOf('.', StringComparison.Ordinal);
        if (token.Length > MaxTokenLength || dot <= 0)
        {
            problem = "session token refused: it is malformed";
            return null;
        }

        byte[] payload;
        byte[] signature;
        try
        {
            payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            problem = "session token refused: it is malformed";
            return null;
        }

        if (!Pki.Verify(_key, signature, Purposes.Session, payload))
        {
            problem = "session token refused: its signature is not the server's (forged or tampered)";
            return null;
        }

        var claims = KitJson.TryRead(payload, KitJson.Default.TokenClaims);

        if (claims is null)
        {
            problem = "session token refused: it is malformed";
            return null;
        }

        if (claims.Run != runId)
        {
            problem = "session token refused: it belongs to another run; register again";
            return null;
        }

        if (_time.GetUtcNow().ToUnixTimeMilliseconds() >= claims.ExpiresMs)
        {
            problem = "session token refused: it has expired; register again";
            return null;
        }

        if (nodeId != 0 && claims.Node != nodeId)
        {
            problem = $"session token refused: it is bound to node {claims.Node}, not node {nodeId}";
            return null;
        }

        if (!_live.TryGetValue(claims.Node, out var live) || (live.Current != claims.Id && live.Previous != claims.Id))
        {
            problem = "session token refused: it was superseded or its session ended (a replayed token?); register again";
            return null;
        }

        problem = null;
        return new SessionClaims(claims.Node, claims.Cn, claims.Serial);
    }
}
