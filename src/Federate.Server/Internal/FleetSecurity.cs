using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Federate.Security;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Internal;

/// <summary>
/// The server's side of the security layer for the fleet service: registration rate limit per remote address, the
/// challenge-response (through <see cref="ServerIdentity"/>), session-token checks on every call and the per-node
/// payload ciphers. Disabled (everything allowed, nothing encrypted) on an insecure development server.
/// </summary>
internal sealed class FleetSecurity : IDisposable
{
    private readonly ConcurrentDictionary<long, PayloadCipher> _ciphers = new();
    private readonly PartitionedRateLimiter<string>? _registrations;
    private const int MaxRefusalLinesPerSecond = 20;
    private readonly ILogger _logger;
    private readonly Lock _logLock = new();
    private long _logSecond;
    private int _logged;
    private long _suppressed;

    public FleetSecurity(FleetServerOptions options, NodeRegistry registry, ILogger logger)
    {
        Identity = options.Insecure ? null : options.Identity;
        EncryptPayloads = Identity is not null && options.EncryptPayloads;
        _logger = logger;
        if (Identity is not null)
        {
            int perMinute = Math.Max(1, options.RegistrationsPerMinute);
            _registrations = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = Math.Max(1, perMinute / 6),
                ReplenishmentPeriod = TimeSpan.FromSeconds(10),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
            registry.NodeRemoved += (id, _) =>
            {
                Identity.Tokens.Forget(id);
                _ciphers.TryRemove(id, out PayloadCipher? _);
            };
        }
    }

    public ServerIdentity? Identity { get; }

    public bool EncryptPayloads { get; }

    /// <summary>Refuses a registration call beyond the rate limit of its remote address.</summary>
    public void CheckRegistrationRate(ServerCallContext context)
    {
        if (_registrations is null)
        {
            return;
        }

        var address = RemoteAddress(context);
        using var lease = _registrations.AttemptAcquire(address);
        if (!lease.IsAcquired)
        {
            if (ShouldLogRefusal())
            {
                ServerLog.Refused(_logger, "Register", 0, $"registration rate limit reached for {address}");
            }

            throw new RpcException(new Status(StatusCode.ResourceExhausted, "too many registration attempts from this address; wait and try again"));
        }
    }

    /// <summary>Checks the session token of a call about <paramref name="nodeId"/>; throws Unauthenticated when refused.</summary>
    public SessionClaims? Authorize(ServerCallContext context, long nodeId, string runId, string call)
    {
        if (Identity is null)
        {
            return null;
        }

        var token = context.RequestHeaders.GetValue(SessionTokens.Header);
        var claims = Identity.Tokens.Verify(token, nodeId, runId, out var problem);
        if (claims is null)
        {
            if (ShouldLogRefusal())
            {
                ServerLog.Refused(_logger, call, nodeId, problem!);
            }

            throw new RpcException(new Status(StatusCode.Unauthenticated, problem!));
        }

        if (Identity.IsRevoked(claims.Serial))
        {
            const string revoked = "session refused: this client's certificate has been revoked";
            if (ShouldLogRefusal())
            {
                ServerLog.Refused(_logger, call, nodeId, revoked);
            }

            throw new RpcException(new Status(StatusCode.PermissionDenied, revoked));
        }

        return claims;
    }

    /// <summary>
    /// True when a refusal may be logged: at most 20 lines a second, so a flood of hostile calls cannot flood the log;
    /// the count of suppressed lines is logged when the next second starts.
    /// </summary>
    public bool ShouldLogRefusal()
    {
        long second = Environment.TickCount64 / 1000;
        lock (_logLock)
        {
            if (second != _logSecond)
            {
                if (_suppressed > 0)
                {
                    ServerLog.Suppressed(_logger, _suppressed);
                }

                _logSecond = second;
                _logged = 0;
                _suppressed = 0;
            }

            if (_logged < MaxRefusalLinesPerSecond)
            {
                _logged++;
                return true;
            }

            _suppressed++;
            return false;
        }
    }

    public void SetCipher(long nodeId, PayloadCipher cipher) => _ciphers[nodeId] = cipher;

    public PayloadCipher? Cipher(long nodeId) => EncryptPayloads ? _ciphers.GetValueOrDefault(nodeId) : null;

    public void Dispose() => _registrations?.Dispose();

    private static string RemoteAddress(ServerCallContext context)
    {
        // "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000": the address without the port.
        var peer = context.Peer ?? "";
        int colon = peer.LastIndexOf(':');
        return colon > 0 ? peer[..colon] : peer;
    }
}
