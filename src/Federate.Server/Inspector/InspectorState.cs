using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Federate.Core;
using Federate.Server.Internal;

namespace Federate.Server.Inspector;

/// <summary>
/// What the inspector knows: runs and their rounds (fed by the run driver as an observer), nodes (fed by the registry
/// and the grid), recent events (an in-memory ring), the latest global model, and live subscribers (server-sent
/// events). Thread-safe: the driver, the gRPC handlers and HTTP requests all touch it.
/// </summary>
internal sealed class InspectorState : IRunObserver
{
    private readonly Lock _lock = new();
    private readonly List<RunView> _runs = [];
    private readonly Dictionary<long, NodeView> _nodes = [];
    private readonly LinkedList<InspectorEvent> _events = new();
    private readonly List<Channel<(string Type, string Data)>> _subscribers = [];
    private readonly InspectorOptions _options;
    private readonly TimeProvider _time;
    private long _nextEventId;
    private ArrayRecord? _model;
    private int _modelRound;

    public InspectorState(InspectorOptions options, IAdminAuthenticator? adminAuthenticator, NodeRegistry registry, RunControl control, TimeProvider time, JsonSerializerOptions json)
    {
        (_options, AdminAuthenticator, _time, Registry, Control, Json) = (options, adminAuthenticator, time, registry, control, json);
        registry.NodeAdded += OnNodeAdded;
        registry.NodeRemoved += OnNodeRemoved;
        control.Changed += state => Publish("control", JsonSerializer.Serialize(state, json));
    }

    public InspectorOptions Options => _options;

    public IAdminAuthenticator? AdminAuthenticator { get; }

    public NodeRegistry Registry { get; }

    public RunControl Control { get; }

    public JsonSerializerOptions Json { get; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The state store whose runs and events the API shows: the options' one, else the one registered in DI.</summary>
    public State.StateStore? Store { get; init; }

    /// <summary>The server runs without TLS or kits: admin actions are open when no authenticator is set.</summary>
    public bool Insecure { get; init; }

    /// <summary>Name of the OpenAPI document describing the API.</summary>
    public string OpenApiDocument { get; init; } = "v1";

    public RunView? Current
    {
        get
        {
            lock (_lock)
            {
                return _runs.Count == 0 ? null : _runs[^1];
            }
        }
    }

    public IReadOnlyList<RunView> Runs()
    {
        lock (_lock)
        {
            return [.. _runs];
        }
    }

    public RunView? FindRun(string id)
    {
        lock (_lock)
        {
            if (id == "current")
            {
                return _runs.Count == 0 ? null : _runs[^1];
            }

            return _runs.FirstOrDefault(r => r.Id == id);
        }
    }

    /// <summary>Copies a run's rounds (the driver appends to the live list).</summary>
    public List<RoundRecord> RoundsOf(RunView run)
    {
        lock (_lock)
        {
            return [.. run.Rounds];
        }
    }

    public (ArrayRecord Model, int Round)? Model
    {
        get
        {
            lock (_lock)
            {
                return _model is null ? null : (_model, _modelRound);
            }
        }
    }

    public IReadOnlyList<NodeView> Nodes()
    {
        lock (_lock)
        {
            return [.. _nodes.Values.OrderBy(n => n.GoneAt is null ? 0 : 1).ThenBy(n => n.Node.Id)];
        }
    }

    public NodeView? FindNode(long id)
    {
        lock (_lock)
        {
            return _nodes.GetValueOrDefault(id);
        }
    }

    public IReadOnlyList<InspectorEvent> Events(int limit)
    {
        lock (_lock)
        {
            return [.. _events.Reverse().Take(limit)];
        }
    }

    public string StatusOf(NodeView view)
    {
        if (view.GoneAt is not null)
        {
            return "gone";
        }

        if (Registry.SilenceOf(view.Node) > HeartbeatInterval * 1.5)
        {
            return "late";
        }

        return view.Activity;
    }

    public JsonObject Describe(NodeView view)
    {
        var silence = view.GoneAt is null ? Registry.SilenceOf(view.Node) : (TimeSpan?)null;
        return new JsonObject
        {
            ["id"] = view.Node.Id,
            ["name"] = view.Node.Name,
            ["partition_id"] = view.Node.PartitionId,
            ["status"] = StatusOf(view),
            ["joined_at"] = view.Node.JoinedAt,
            ["last_heartbeat"] = silence is { } s ? _time.GetUtcNow() - s : null,
            ["seconds_since_heartbeat"] = silence is { } s2 ? Math.Round(s2.TotalSeconds, 3) : null,
            ["rounds_done"] = view.RoundsDone,
            ["bytes_in"] = Interlocked.Read(ref view.Node.BytesIn),
            ["bytes_out"] = Interlocked.Read(ref view.Node.BytesOut),
            ["last_error"] = view.LastError,
            ["gone_at"] = view.GoneAt,
            ["has_weights"] = view.LatestWeights is not null,
        };
    }

    /// <summary>Adds an event to the feed (and the state store's events table) and pushes it to live subscribers.</summary>
    public void AddEvent(string kind, string detail)
    {
        InspectorEvent e;
        lock (_lock)
        {
            e = new InspectorEvent(++_nextEventId, _time.GetUtcNow(), _runs.Count == 0 ? "" : _runs[^1].Id, kind, detail);
            _events.AddLast(e);
            while (_events.Count > _options.EventCapacity)
            {
                _events.RemoveFirst();
            }
        }

        Publish("event", JsonSerializer.Serialize(e, Json));
    }

    /// <summary>Operator actions also go to the durable events table.</summary>
    public void AddAuditEvent(string kind, string detail)
    {
        AddEvent(kind, detail);
        if (Store is { } store && Current is { } run)
        {
            try
            {
                store.AppendEvent(run.Id, kind, detail);
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                // The run may not be in the store (a store-less run id); the in-memory feed has the event.
            }
        }
    }

    /// <summary>A live subscriber: every published (type, JSON) pair until <see cref="Unsubscribe"/>.</summary>
    public ChannelReader<(string Type, string Data)> Subscribe()
    {
        var channel = Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            _subscribers.Add(channel);
        }

        return channel.Reader;
    }

    public void Unsubscribe(ChannelReader<(string Type, string Data)> reader)
    {
        lock (_lock)
        {
            _subscribers.RemoveAll(c => c.Reader == reader);
        }
    }

    public void Publish(string type, string data)
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
            {
                s.Writer.TryWrite((type, data));
            }
        }
    }

    /// <summary>Marks nodes busy when the grid sends them instructions.</summary>
    public void OnInstructions(IReadOnlyList<Message> instructions)
    {
        lock (_lock)
        {
            foreach (var m in instructions)
            {
                if (_nodes.TryGetValue(m.Metadata.DestinationNodeId, out var view))
                {
                    view.Activity = m.Metadata.MessageType switch
                    {
                        MessageType.Train => "training",
                        MessageType.Evaluate => "evaluating",
                        // A secure-aggregation stage names itself (secagg_setup, ..., secagg_unmask).
                        _ => m.Content?.Configs.TryGetValue(Core.SecureAggregation.SecAggNames.Record, out var c) == true && c.TryGetValue(Core.SecureAggregation.SecAggNames.Stage, out var stage) && stage.Kind == ConfigValueKind.String ? stage.AsString() : "busy",
                    };
                }
            }
        }

        Publish("nodes", "{}");
    }

    public static JsonObject DescribeRound(RoundRecord r) => new()
    {
        ["round"] = r.Round,
        ["train"] = Metrics(r.Train),
        ["evaluate"] = Metrics(r.Evaluate),
        ["train_values"] = Values(r.TrainValues),
        ["evaluate_values"] = Values(r.EvaluateValues),
        ["results"] = r.Results,
        ["failures"] = new JsonArray([.. r.Failures.Select(f => (JsonNode)new JsonObject { ["node_id"] = f.NodeId, ["phase"] = f.Phase, ["code"] = f.Code, ["reason"] = f.Reason })]),
        ["seconds"] = Math.Round(r.Seconds, 4),
    };

    /// <summary>Each node's non-numeric metrics: <c>[{"node_id", "key", "value"}]</c>, bytes as <c>base64:...</c>.</summary>
    public static JsonArray Values(IReadOnlyList<NodeMetricValue> values) =>
        new([.. values.Select(v => (JsonNode)new JsonObject { ["node_id"] = v.NodeId, ["key"] = v.Key, ["value"] = v.Display })]);

    public static JsonObject Metrics(MetricRecord metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o[k] = double.IsFinite(v) ? v : null;
        }

        return o;
    }

    void IRunObserver.OnRunStarted(RunHistory history, ArrayRecord initial)
    {
        var run = new RunView(history.RunId, history.Config, _time.GetUtcNow());
        lock (_lock)
        {
            run.Rounds.AddRange(history.Rounds);
            _runs.Add(run);
            _model = initial;
            _modelRound = history.Rounds.Count;
            foreach (var n in _nodes.Values)
            {
                n.LatestWeights = null;
                n.LatestWeightsRound = null;
            }
        }

        AddEvent("run_started", history.Rounds.Count == 0 ? $"run {history.RunId} started" : $"run {history.RunId} resumed after round {history.Rounds.Count}");
        Publish("run", JsonSerializer.Serialize(new { id = run.Id, status = run.Status }, Json));
    }

    void IRunObserver.OnRoundStarted(int round, int sampled)
    {
        if (Current is { } run)
        {
            run.RoundInFlight = round;
        }

        AddEvent("round_started", $"round {round} started: {sampled} nodes sampled");
    }

    void IRunObserver.OnReply(int round, MessageType phase, Message reply)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(reply.Metadata.SourceNodeId, out var view))
            {
                return;
            }

            view.Activity = "idle";
            if (reply.Error is { } error)
            {
                view.LastError = $"round {round} {phase.ToString().ToLowerInvariant()}: {error.Code}: {error.Reason}";
                return;
            }

            if (reply.Content?.Metrics.TryGetValue(RecordNames.Metrics, out var metrics) == true)
            {
                view.LastMetrics = metrics;
            }

            if (phase == MessageType.Train)
            {
                view.RoundsDone++;
                if (_options.KeepClientWeights && !_options.SecureAggregation && reply.Content is { } content && content.Arrays.Count > 0)
                {
                    view.LatestWeights = content.Arrays.TryGetValue(RecordNames.Model, out var weights) ? weights : content.Arrays.Values.First();
                    view.LatestWeightsRound = round;
                }
            }
        }

        Publish("nodes", "{}");
    }

    void IRunObserver.OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        RunView? run;
        lock (_lock)
        {
            run = _runs.Count == 0 ? null : _runs[^1];
            run?.Rounds.Add(record);
            if (run is not null)
            {
                run.RoundInFlight = null;
            }

            _model = global;
            _modelRound = record.Round;
        }

        var round = DescribeRound(record);
        round["run_id"] = run?.Id;
        Publish("round", round.ToJsonString(Json));
        AddEvent("round_completed", $"round {record.Round}: {record.Results} results, {record.Failures.Count} failures ({record.Seconds:0.00} s)");
    }

    void IRunObserver.OnRunFinished(RunHistory history, ArrayRecord global)
    {
        RunView? run;
        lock (_lock)
        {
            run = _runs.Count == 0 ? null : _runs[^1];
            if (run is not null)
            {
                run.StopReason = history.StopReason;
                run.StopDetail = history.StopDetail;
                run.FinishedAt = _time.GetUtcNow();
                run.RoundInFlight = null;
            }

            _model = global;
            foreach (var n in _nodes.Values)
            {
                if (n.Activity != "idle")
                {
                    n.Activity = "idle";
                }
            }
        }

        AddEvent("run_finished", $"run {history.RunId} ended: {history.StopDetail ?? history.StopReason}");
        Publish("nodes", "{}");
        Publish("run", JsonSerializer.Serialize(new { id = run?.Id, status = run?.Status, stop_reason = history.StopReason, stop_detail = history.StopDetail, rounds_done = history.Rounds.Count }, Json));
    }

    private void OnNodeAdded(FleetNode node)
    {
        lock (_lock)
        {
            _nodes[node.Id] = new NodeView(node);

            // Keep the table readable: forget the oldest gone nodes beyond 200.
            var gone = _nodes.Values.Where(n => n.GoneAt is not null).OrderBy(n => n.GoneAt).ToList();
            for (int i = 0; i < gone.Count - 200; i++)
            {
                _nodes.Remove(gone[i].Node.Id);
            }
        }

        AddEvent("node_joined", $"node {node.Id} '{node.Name}' joined");
        Publish("nodes", "{}");
    }

    private void OnNodeRemoved(long id, string reason)
    {
        lock (_lock)
        {
            if (_nodes.TryGetValue(id, out var view))
            {
                view.GoneAt = _time.GetUtcNow();
                view.Activity = "idle";
                if (!reason.StartsWith("quit", StringComparison.Ordinal))
                {
                    view.LastError = reason;
                }
            }
        }

        AddEvent("node_left", $"node {id} left: {reason}");
        Publish("nodes", "{}");
    }
}
