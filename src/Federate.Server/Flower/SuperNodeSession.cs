using Federate.Protocol;
using Federate.Server.Internal;

namespace Federate.Server.Flower;

/// <summary>
/// What the server knows of one SuperNode between its calls: the instruction it is being given (the objects it pulls
/// until it confirms), the instruction it works on (until its reply arrives) and the reply objects it is pushing.
/// Guarded by <see cref="Lock"/>: a SuperNode pulls and pushes objects on several threads at once.
/// </summary>
internal sealed class SuperNodeSession(FleetNode node, FlowerFleetVersion version)
{
    /// <summary>The Fleet API shape the node speaks (told by how it registered).</summary>
    public FlowerFleetVersion Version { get; } = version;

    public Lock Lock { get; } = new();

    public FleetNode Node { get; } = node;

    /// <summary>The instruction the node pulled and has not answered yet.</summary>
    public PendingTask? Task { get; set; }

    /// <summary>The instruction's message and objects, until the node confirms it received them.</summary>
    public FlowerOutgoingMessage? Outgoing { get; set; }

    /// <summary>The Flower message id of <see cref="Task"/>.</summary>
    public string? TaskMessageId { get; set; }

    /// <summary>The root (message object id) of the reply being pushed.</summary>
    public string? ReplyId { get; set; }

    /// <summary>The reply's object ids still expected.</summary>
    public HashSet<string> Expected { get; } = new(StringComparer.Ordinal);

    /// <summary>The reply's objects received so far.</summary>
    public Dictionary<string, byte[]> Received { get; } = new(StringComparer.Ordinal);

    /// <summary>Forgets the current instruction and reply.</summary>
    public void Clear()
    {
        Task = null;
        Outgoing = null;
        TaskMessageId = null;
        ReplyId = null;
        Expected.Clear();
        Received.Clear();
    }
}
