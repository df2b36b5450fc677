using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Federate.Security;
using Grpc.Core;

namespace Federate.Server.Internal;

/// <summary>
/// The server's side of the security layer for the fleet service: registration rate limit per remote address, the
/// challenge-response (through <see cref="ServerIdentity"/>), session-token checks on every call and the per-node
/// payload ciphers. Disabled (everything allowed, nothing encrypted) on an insecure development server.
/// </summary>
internal sealed class FleetSecurity : IDisposable
{
    private readonly ConcurrentDictionary<long, PayloadCipher> _ciphers = new();
    private readonly ConcurrentDictionary<long, bool> _revokedNodes = new();
    private readonly PartitionedRateLimiter<string>? _registrations;
    private const int MaxRefusalLinesPerSecond = 20;
    private readonly ILogger _logger;
    private readonly Lock _logLock = new();
    private long _logSecond;
    private int _logged;
    private long _suppressed;
    private readonly NodeRegistry _registry;
    private readonly FleetGrid _grid;
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer? _poll;
    private readonly Lock _enforceLock = new();
    private string? _listProblem;

    /// <summary>How often the kit's lists are checked when no file-change event arrived (a watcher can miss events, on network file systems for instance).</summary>
    public static readonly TimeSpan RevocationPollInterval = TimeSpan.FromSeconds(1);

    public FleetSecurity(FleetServerOptions options, NodeRegistry registry, FleetGrid grid, TimeProvider time, ILogger logger)
    {
        Identity = options.Insecure ? null : options.Identity;
        EncryptPayloads = Identity is not null && options.EncryptPayloads;
        _logger = logger;
        _registry = registry;
        _grid = grid;
        if (Identity is not null)
        {
            // A revocation takes effect at once: the kit's revoked.json is watched (and polled as a fallback), and
            // every registered node whose certificate it lists is cut off (sessions, streams, open tasks).
            try
            {
                _watcher = new FileSystemWatcher(Identity.Kit.Directory) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime };
                _watcher.Changed += (_, _) => EnforceRevocations();
                _watcher.Created += (_, _) => EnforceRevocations();
                _watcher.Renamed += (_, _) => EnforceRevocations();
                _watcher.EnableRaisingEvents = true;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
            {
                _watcher?.Dispose();
                _watcher = null; // The poll still applies revocations within a second.
            }

            _poll = time.CreateTimer(_ => EnforceRevocations(), null, RevocationPollInterval, RevocationPollInterval);

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

    /// <summary>The refusal of any call from a node whose certificate was revoked.</summary>
    public const string RevokedSession = "session refused: this client's certificate has been revoked";

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
    public SessionClaims? Authorize(ServerCallContext context, long nodeId, string runId, string call) =>
        Identity is null ? null : Authorize(context.RequestHeaders.GetValue(SessionTokens.Header), nodeId, runId, call);

    /// <summary>Checks a session token (from the bulk endpoint's headers); throws Unauthenticated when refused.</summary>
    public SessionClaims? Authorize(string? token, long nodeId, string runId, string call)
    {
        if (Identity is null)
        {
            return null;
        }

        var claims = Identity.Tokens.Verify(token, nodeId, runId, out var problem);
        if (claims is null && _revokedNodes.ContainsKey(nodeId))
        {
            // The session of a revoked node has ended; say why rather than "register again".
            throw new RpcException(new Status(StatusCode.PermissionDenied, RevokedSession));
        }

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
            if (ShouldLogRefusal())
            {
                ServerLog.Refused(_logger, call, nodeId, RevokedSession);
            }

            throw new RpcException(new Status(StatusCode.PermissionDenied, RevokedSession));
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

    /// <summary>Records the certificate a node registered with, so revoking it later cuts the node off.</summary>
    public void Bind(FleetNode node, string serial)
    {
        node.CertificateSerial = serial;
        if (Identity?.IsRevoked(serial) == true)
        {
            Cut(node);
        }
    }

    /// <summary>
    /// Re-reads the kit's lists when they changed and cuts off every registered node whose certificate is now revoked:
    /// its open tasks fail at once with the code 'revoked' (its round goes on without it, uploads and downloads in
    /// flight stop at the next chunk), its session ends and its waiting task stream is answered PERMISSION_DENIED.
    /// </summary>
    public void EnforceRevocations()
    {
        if (Identity is null)
        {
            return;
        }

        lock (_enforceLock)
        {
            try
            {
                Identity.Refresh();
                _listProblem = null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or System.Security.SecurityException)
            {
                // A list being copied in is read again at the next change or poll; a bad one is reported once.
                var problem = ex is System.Security.SecurityException ? ex.Message : $"{StartupKit.RevokedFile} or {StartupKit.ParticipantsFile} in '{Identity.Kit.Directory}' could not be read; copy it again";
                if (problem != _listProblem)
                {
                    _listProblem = problem;
                    ServerLog.ListUnreadable(_logger, problem);
                }

                return;
            }

            foreach (var node in _registry.Nodes())
            {
                if (node.CertificateSerial is { } serial && Identity.IsRevoked(serial))
                {
                    Cut(node);
                }
            }
        }
    }

    private void Cut(FleetNode node)
    {
        node.Revoked = true;
        _revokedNodes[node.Id] = true;
        ServerLog.RevokedNode(_logger, node.Id, node.Name);
        _grid.FailTasksOf(node.Id, "revoked", $"the certificate of '{node.Name}' was revoked");
        _registry.Remove(node.Id, "its certificate was revoked");
    }

    public void Dispose()
    {
        _poll?.Dispose();
        _watcher?.Dispose();
        _registrations?.Dispose();
    }

    private static string RemoteAddress(ServerCallContext context)
    {
        // "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000": the address without the port.
        var peer = context.Peer ?? "";
        int colon = peer.LastIndexOf(':');
        return colon > 0 ? peer[..colon] : peer;
    }
}
