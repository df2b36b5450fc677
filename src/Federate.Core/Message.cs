namespace Federate.Core;

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
