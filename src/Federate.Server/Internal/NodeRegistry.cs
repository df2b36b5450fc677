namespace Federate.Server.Internal;

/// <summary>
/// The nodes of the run: clients join at any time, leave (quit), or expire when they send nothing for the node
/// expiry. Time comes from an injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class NodeRegistry : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, FleetNode> _nodes = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan _expiry;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextId;
    private OutboundFinished? _finished;

    public NodeRegistry(TimeProvider time, TimeSpan heartbeatInterval, TimeSpan expiry, ILogger logger, long firstNodeId = 1)
    {
        _nextId = firstNodeId - 1;
        _time = time;
        _expiry = expiry;
        _logger = logger;
        _timer = time.CreateTimer(_ => ExpireStale(), null, heartbeatInterval, heartbeatInterval);
    }

    /// <summary>Raised (outside the lock) when a node leaves or expires, with the reason.</summary>
    public event Action<long, string>? NodeRemoved;

    /// <summary>Raised (outside the lock) when a node registers.</summary>
    public event Action<FleetNode>? NodeAdded;

    /// <summary>Time since the node's last sign of life.</summary>
    public TimeSpan SilenceOf(FleetNode node) => _time.GetElapsedTime(Volatile.Read(ref node.LastSeen));

    /// <summary>The registered nodes, by id.</summary>
    public IReadOnlyList<FleetNode> Nodes()
    {
        lock (_lock)
        {
            return [.. _nodes.Values.OrderBy(n => n.Id)];
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _nodes.Count;
            }
        }
    }

    public bool IsFinished => _finished is not null;

    /// <summary>Adds a node; <paramref name="ready"/> false keeps it out of rounds until <see cref="MarkReady"/>.</summary>
    public FleetNode Register(string name, int? partitionId, bool expiresWhenSilent = true, TimeSpan? expiry = null, bool ready = true)
    {
        FleetNode node;
        int count;
        lock (_lock)
        {
            long id = ++_nextId;
            node = new FleetNode(id, string.IsNullOrWhiteSpace(name) ? $"node-{id}" : name, partitionId, _time.GetTimestamp()) { ExpiresWhenSilent = expiresWhenSilent, Expiry = expiry, Ready = ready };
            _nodes[id] = node;
            count = _nodes.Count;
            if (_finished is not null)
            {
                node.Outbox.Writer.TryWrite(_finished);
            }

            SignalChanged();
        }

        ServerTelemetry.NodeJoined();
        ServerLog.NodeJoined(_logger, node.Id, node.Name, count);
        NodeAdded?.Invoke(node);
        return node;
    }

    /// <summary>Marks a sign of life; returns the node or null when it is unknown (expired, left, never joined).</summary>
    public FleetNode? Touch(long nodeId)
    {
        lock (_lock)
        {
            if (_nodes.TryGetValue(nodeId, out var node))
            {
                node.LastSeen = _time.GetTimestamp();
                return node;
            }

            return null;
        }
    }

    /// <summary>The node asked for work: from now on rounds may sample it.</summary>
    public void MarkReady(FleetNode node)
    {
        if (node.Ready)
        {
            return;
        }

        lock (_lock)
        {
            node.Ready = true;
            SignalChanged();
        }
    }

    public FleetNode? Get(long nodeId)
    {
        lock (_lock)
        {
            return _nodes.GetValueOrDefault(nodeId);
        }
    }

    public IReadOnlyList<NodeInfo> Snapshot()
    {
        lock (_lock)
        {
            return [.. _nodes.Values.OrderBy(n => n.Id).Select(n => n.ToInfo())];
        }
    }

    public bool Remove(long nodeId, string reason)
    {
        int count;
        lock (_lock)
        {
            if (!_nodes.Remove(nodeId, out var node))
            {
                return false;
            }

            node.Outbox.Writer.TryComplete();
            count = _nodes.Count;
            SignalChanged();
        }

        ServerTelemetry.NodeLeft();
        ServerLog.NodeLeft(_logger, nodeId, reason, count);
        NodeRemoved?.Invoke(nodeId, reason);
        return true;
    }

    /// <summary>Removes nodes silent for longer than the expiry; returns how many.</summary>
    public int ExpireStale()
    {
        List<long> stale;
        lock (_lock)
        {
            stale = [.. _nodes.Values.Where(n => n.ExpiresWhenSilent && _time.GetElapsedTime(n.LastSeen) > (n.Expiry ?? _expiry)).Select(n => n.Id)];
        }

        foreach (var id in stale)
        {
            Remove(id, $"no heartbeat for {(Get(id)?.Expiry ?? _expiry).TotalSeconds:0.###} s");
        }

        return stale.Count;
    }

    /// <summary>Waits until at least <paramref name="minimum"/> nodes are ready (registered and asking for work); returns those.</summary>
    public async ValueTask<IReadOnlyList<NodeInfo>> WaitForAsync(int minimum, CancellationToken cancellationToken)
    {
        bool logged = false;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var ready = _nodes.Values.Where(n => n.Ready).OrderBy(n => n.Id).ToList();
                if (ready.Count >= minimum)
                {
                    return [.. ready.Select(n => n.ToInfo())];
                }

                changed = _changed.Task;
                if (!logged)
                {
                    ServerLog.Waiting(_logger, minimum, ready.Count);
                    logged = true;
                }
            }

            Federate.Core.Diagnostics.FaultPoints.Reach("waiting");
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Broadcast(Outbound item)
    {
        lock (_lock)
        {
            foreach (var node in _nodes.Values.Where(n => !n.Revoked))
            {
                node.Outbox.Writer.TryWrite(item);
            }
        }
    }

    public void Finish(string stopReason, string detail)
    {
        lock (_lock)
        {
            _finished = new OutboundFinished(stopReason, detail);
            foreach (var node in _nodes.Values)
            {
                node.Outbox.Writer.TryWrite(_finished);
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void SignalChanged()
    {
        var old = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }
}
