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

    /// <summary>The message's object tree (each object's children as its head names them), as Flower 1.20+ lists it.</summary>
    public ObjectTree Tree() => Tree(MessageId, 0);

    private ObjectTree Tree(string id, int depth)
    {
        if (depth > 16)
        {
            throw new InvalidDataException("the object tree is deeper than 16 levels");
        }

        var tree = new ObjectTree { ObjectId = id };
        foreach (var child in FlowerObject.Parse(Objects[id]).Children)
        {
            tree.Children.Add(Tree(child, depth + 1));
        }

        return tree;
    }
}
