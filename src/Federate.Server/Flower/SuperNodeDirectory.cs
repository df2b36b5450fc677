using System.Collections.Concurrent;
using Federate.Protocol;
using Federate.Server.Internal;

namespace Federate.Server.Flower;

/// <summary>The SuperNodes' sessions by node id, the Flower run ids handed out, and the Flower app they run.</summary>
internal sealed class SuperNodeDirectory
{
    private readonly ConcurrentDictionary<long, SuperNodeSession> _sessions = new();
    private readonly Lazy<FlowerAppBundle?> _app;

    public SuperNodeDirectory(FleetServerOptions options, NodeRegistry registry)
    {
        _app = new Lazy<FlowerAppBundle?>(() => options.FlowerApp is { } path ? FlowerAppBundle.Load(path) : null);
        registry.NodeRemoved += (id, _) => _sessions.TryRemove(id, out SuperNodeSession? _);
    }

    /// <summary>The Flower app SuperNodes download, or null when the server has none.</summary>
    public FlowerAppBundle? App => _app.Value;

    /// <summary>Flower run ids sent in messages (a SuperNode asks for the run of a message it received).</summary>
    public ConcurrentDictionary<ulong, string> Runs { get; } = new();

    /// <summary>Nodes refused because of their Flower version, with the reason each of their calls gets.</summary>
    public ConcurrentDictionary<long, string> Refused { get; } = new();

    public SuperNodeSession Add(FleetNode node, FlowerFleetVersion version = FlowerFleetVersion.Flower119) => _sessions.GetOrAdd(node.Id, _ => new SuperNodeSession(node, version));

    public SuperNodeSession? Get(long nodeId) => _sessions.GetValueOrDefault(nodeId);
}
