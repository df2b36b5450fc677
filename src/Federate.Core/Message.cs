namespace Federate.Core;

/// <summary>What a message asks a client app to do.</summary>
public enum MessageType
{
    /// <summary>Train on local data starting from the enclosed model.</summary>
    Train,
    /// <summary>Evaluate the enclosed model on local data.</summary>
    Evaluate,
    /// <summary>Answer a query (properties, parameters).</summary>
    Query,
    /// <summary>Application-defined.</summary>
    Custom,
}

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

/// <summary>Why a message could not be answered.</summary>
/// <param name="Code">A short machine-readable code (e.g. "client_error", "timeout", "dropped").</param>
/// <param name="Reason">A one-line explanation a person can act on.</param>
public sealed record MessageError(string Code, string Reason);

/// <summary>
/// A message between the server and a node: metadata plus either content or an error. Instructions go from the
/// server to nodes; replies come back with <see cref="MessageMetadata.ReplyTo"/> set.
/// </summary>
public sealed class Message
{
    /// <summary>Creates a message with content.</summary>
    public Message(MessageMetadata metadata, RecordDict content)
    {
        Metadata = metadata ?? throw new ArgumentNullException(nameof(metadata));
        Content = content ?? throw new ArgumentNullException(nameof(content));
    }

    /// <summary>Creates a message carrying an error.</summary>
    public Message(MessageMetadata metadata, MessageError error)
    {
        Metadata = metadata ?? throw new ArgumentNullException(nameof(metadata));
        Error = error ?? throw new ArgumentNullException(nameof(error));
    }

    /// <summary>Routing and bookkeeping.</summary>
    public MessageMetadata Metadata { get; }

    /// <summary>The records; null when <see cref="Error"/> is set.</summary>
    public RecordDict? Content { get; }

    /// <summary>The error; null for a normal message.</summary>
    public MessageError? Error { get; }

    /// <summary>True when the message carries content.</summary>
    public bool HasContent => Content is not null;

    /// <summary>Creates the reply to this instruction with the given content.</summary>
    public Message CreateReply(RecordDict content) => new(ReplyMetadata(), content);

    /// <summary>Creates an error reply to this instruction.</summary>
    public Message CreateErrorReply(MessageError error) => new(ReplyMetadata(), error);

    private MessageMetadata ReplyMetadata() => Metadata with
    {
        SourceNodeId = Metadata.DestinationNodeId,
        DestinationNodeId = Metadata.SourceNodeId,
        ReplyTo = Metadata.MessageId,
        MessageId = Metadata.MessageId + "/reply",
    };
}
