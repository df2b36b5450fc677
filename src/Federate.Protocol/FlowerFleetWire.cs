using Federate.Protocol.FlowerFleet;
using Google.Protobuf;

namespace Federate.Protocol;

/// <summary>
/// Field 3 of <c>PullMessagesResponse</c> and <c>PushMessagesResponse</c>, whose type differs between Flower releases
/// under the same number and wire type: written and read for a peer's <see cref="FlowerFleetVersion"/>.
/// </summary>
public static class FlowerFleetWire
{
    /// <summary>
    /// An object id no message holds. A pull for a node that registered with <c>CreateNode</c> lists first an object
    /// tree whose only child is this id, then 1.19's entry (a map keeps its last entry for a key): Flower 1.19 reads
    /// the entry, Flower 1.20 to 1.22 (which register the same way) read the tree and pull this id, which tells them
    /// apart.
    /// </summary>
    public static readonly string ProbeObjectId = FlowerObject.IdOf("federate: a Flower 1.20 to 1.22 SuperNode pulls this id"u8);

    /// <summary>Adds the entries a node of <paramref name="version"/> reads to pull <paramref name="message"/>'s objects.</summary>
    public static void AddObjectsToPull(PullMessagesResponse response, FlowerOutgoingMessage message, FlowerFleetVersion version)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(message);
        if (version == FlowerFleetVersion.Flower123)
        {
            response.ObjectsToPull.Add(message.Tree().ToByteString());
            return;
        }

        var probe = new ObjectTree { ObjectId = message.MessageId, Children = { new ObjectTree { ObjectId = ProbeObjectId } } };
        response.ObjectsToPull.Add(probe.ToByteString());
        response.ObjectsToPull.Add(new ObjectIDsEntry { Key = message.MessageId, Value = message.ToPull() }.ToByteString());
    }

    /// <summary>The object ids to pull for <paramref name="messageId"/>, as a SuperLink of <paramref name="version"/> lists them.</summary>
    /// <exception cref="InvalidDataException">The entries are not of that version's shape.</exception>
    public static IReadOnlyList<string> ReadObjectsToPull(PullMessagesResponse response, string messageId, FlowerFleetVersion version)
    {
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            if (version == FlowerFleetVersion.Flower123)
            {
                return response.ObjectsToPull.Count == 0 ? [] : FlowerFleetMapping.TreeIds(ObjectTree.Parser.ParseFrom(response.ObjectsToPull[0]));
            }

            // As a protobuf map: the last entry for the key wins.
            var entry = response.ObjectsToPull.Select(e => ObjectIDsEntry.Parser.ParseFrom(e)).LastOrDefault(e => e.Key == messageId);
            return entry?.Value?.ObjectIds.ToList() ?? [];
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"the SuperLink's list of objects to pull is unreadable: {ex.Message}", ex);
        }
    }

    /// <summary>Adds the ids a node of <paramref name="version"/> is asked to push for the reply <paramref name="rootId"/>.</summary>
    public static void AddObjectsToPush(PushMessagesResponse response, string rootId, IEnumerable<string> ids, FlowerFleetVersion version)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(ids);
        if (version == FlowerFleetVersion.Flower123)
        {
            response.ObjectsToPush.Add(ids.Select(ByteString.CopyFromUtf8));
            return;
        }

        var entry = new ObjectIDsEntry { Key = rootId, Value = new ObjectIDs() };
        entry.Value.ObjectIds.Add(ids);
        response.ObjectsToPush.Add(entry.ToByteString());
    }

    /// <summary>The ids a SuperLink of <paramref name="version"/> asks to push for the reply <paramref name="rootId"/>.</summary>
    /// <exception cref="InvalidDataException">The entries are not of that version's shape.</exception>
    public static IReadOnlyList<string> ReadObjectsToPush(PushMessagesResponse response, string rootId, FlowerFleetVersion version)
    {
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            if (version == FlowerFleetVersion.Flower123)
            {
                return [.. response.ObjectsToPush.Select(e => e.ToStringUtf8())];
            }

            var entry = response.ObjectsToPush.Select(e => ObjectIDsEntry.Parser.ParseFrom(e)).LastOrDefault(e => e.Key == rootId);
            return entry?.Value?.ObjectIds.ToList() ?? [];
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"the SuperLink's list of objects to push is unreadable: {ex.Message}", ex);
        }
    }
}
