using System.Threading.Channels;

namespace Federate.Server.Internal;

/// <summary>A registered node: identity, last sign of life and its outbox.</summary>
internal sealed class FleetNode(long id, string name, int? partitionId, long lastSeen)
{
    public long Id { get; } = id;

    public string Name { get; } = name;

    public int? PartitionId { get; } = partitionId;

    /// <summary>
    /// False for nodes whose liveness is their open stream (Flower clients send no heartbeats; a dropped stream
    /// removes them), so silence never expires them.
    /// </summary>
    public bool ExpiresWhenSilent { get; init; } = true;

    /// <summary>The node's own expiry (Flower SuperNodes announce their heartbeat interval); null: the server's.</summary>
    public TimeSpan? Expiry { get; init; }

    public long LastSeen = lastSeen;

    /// <summary>The serial of the certificate the node registered with (kits only); revoking it ends the node's session.</summary>
    public string? CertificateSerial { get; set; }

    /// <summary>Set when the node's certificate was revoked while it was registered; its calls are then refused as revoked.</summary>
    public volatile bool Revoked;

    /// <summary>
    /// True once the node has asked for work (its first pull): only then may a round sample it. A registration whose
    /// reply never reached the client (its call timed out on a busy machine, so it registered again) leaves a node
    /// that never pulls; it is never sampled and expires after the node expiry.
    /// </summary>
    public volatile bool Ready;

    /// <summary>Tensor bytes received from the node (updates) and sent to it (tasks); read by the inspector.</summary>
    public long BytesIn;

    /// <summary>Tensor bytes sent to the node.</summary>
    public long BytesOut;

    public DateTimeOffset JoinedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The last task sent to the node (resent when the node pulls again without having replied to it).</summary>
    public PendingTask? Sent;

    /// <summary>The HTTP connection <see cref="Sent"/> went out on: a pull on another connection means it was lost.</summary>
    public string? SentConnection;

    public Channel<Outbound> Outbox { get; } = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = false });

    public NodeInfo ToInfo() => new(Id, Name, PartitionId);
}
