namespace Federate.Core;

/// <summary>Routing and bookkeeping of a <see cref="Message"/>.</summary>
public sealed record MessageMetadata
{
    /// <summary>The run this message belongs to.</summary>
    public required string RunId { get; init; }

    /// <summary>The round (1-based; 0 before the first round).</summary>
    public required int Round { get; init; }

    /// <summary>What the message asks for.</summary>
    public required MessageType MessageType { get; init; }

    /// <summary>Sending node (0 is the server).</summary>
    public long SourceNodeId { get; init; }

    /// <summary>Receiving node (0 is the server).</summary>
    public long DestinationNodeId { get; init; }

    /// <summary>Id of this message.</summary>
    public string MessageId { get; init; } = "";

    /// <summary>For a reply, the id of the instruction it answers.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>How long the instruction stays valid.</summary>
    public TimeSpan TimeToLive { get; init; } = TimeSpan.FromHours(1);
}
