using Federate.Protocol.FlowerFleet;

namespace Federate.Protocol;

/// <summary>
/// A server instruction as Flower's Fleet API delivers it: the message (metadata only, its <c>message_id</c> the
/// object id of the message object) and the objects a SuperNode pulls to rebuild its content.
/// </summary>
/// <param name="MessageId">The message's object id.</param>
/// <param name="Message">The message as listed in <c>PullMessagesResponse.messages_list</c> (no content).</param>
/// <param name="Objects">Every object of the message by id (the message object included).</param>
/// <param name="ObjectIds">The ids to pull, children before parents, the message's own id last.</param>
public sealed record FlowerOutgoingMessage(string MessageId, FlowerFleet.Message Message, IReadOnlyDictionary<string, byte[]> Objects, IReadOnlyList<string> ObjectIds)
{
    /// <summary>The message's <c>objects_to_pull</c> entry.</summary>
    public ObjectIDs ToPull()
    {
        var ids = new ObjectIDs();
        ids.ObjectIds.Add(ObjectIds);
        return ids;
    }
}
