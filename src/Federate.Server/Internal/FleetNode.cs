using System.Threading.Channels;
using Microsoft.Extensions.Logging;

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

    public long LastSeen = lastSeen;

    /// <summary>Tensor bytes received from the node (updates) and sent to it (tasks); read by the inspector.</summary>
    public long BytesIn;

    /// <summary>Tensor bytes sent to the node.</summary>
    public long BytesOut;

    public DateTimeOffset JoinedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The last task sent to the node (resent when the node pulls again without having replied to it).</summary>
    public PendingTask? Sent;

    public Channel<Outbound> Outbox { get; } = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = false });

    public NodeInfo ToInfo() => new(Id, Name, PartitionId);
}
