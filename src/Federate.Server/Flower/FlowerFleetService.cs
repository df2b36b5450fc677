using Federate.Protocol;
using Federate.Protocol.FlowerFleet;
using Federate.Server.Internal;
using Grpc.Core;
using RpcStatus = Grpc.Core.Status;

namespace Federate.Server.Flower;

/// <summary>
/// Serves Flower's Fleet API in the shapes of Flower 1.19 (CreateNode, DeleteNode) and Flower 1.23 (RegisterNode,
/// ActivateNode, DeactivateNode, UnregisterNode; object trees and chunked arrays), beside SendNodeHeartbeat,
/// PullMessages, PushMessages, GetRun, GetFab, PushObject, PullObject and ConfirmMessageReceived, so unmodified
/// SuperNodes (<c>flower-supernode</c>) join the run as grid nodes beside native and legacy Flower clients. The way a
/// node registers tells its version; Flower 1.20 to 1.22 (which register as 1.19 does) are told apart by the probe
/// object they pull (<see cref="FlowerFleetWire.ProbeObjectId"/>) and refused with a message naming the supported
/// versions. A SuperNode registers without a partition id (it folds after native nodes, in registration order),
/// polls for its next instruction, pulls the instruction's objects, runs its ClientApp and pushes the reply's objects;
/// the whole reply goes to the grid.
/// </summary>
internal sealed class FlowerFleetService(NodeRegistry registry, SuperNodeDirectory directory, FleetServerOptions options, TimeProvider time, ILoggerFactory loggerFactory) : Fleet.FleetBase
{
    /// <summary>Most objects one reply may consist of (a model of this many tensors is far beyond any real one).</summary>
    private const int MaxReplyObjects = 1_000_000;

    /// <summary>Flower's SuperLink deems a node gone after this many missed heartbeat intervals.</summary>
    private const double HeartbeatPatience = 2;

    private readonly ILogger _logger = loggerFactory.CreateLogger("Federate.Server.Flower");

    /// <summary>The versions this server speaks, for messages refusing others.</summary>
    public const string SupportedVersions = "Flower 1.19 or 1.23";

    public override Task<CreateNodeResponse> CreateNode(CreateNodeRequest request, ServerCallContext context) =>
        Task.FromResult(new CreateNodeResponse { Node = new Node { NodeId = (ulong)Join(request.HeartbeatInterval, context, FlowerFleetVersion.Flower119) } });

    public override Task<DeleteNodeResponse> DeleteNode(DeleteNodeRequest request, ServerCallContext context)
    {
        Leave(request.Node?.NodeId ?? 0, "DeleteNode");
        return Task.FromResult(new DeleteNodeResponse());
    }

    /// <summary>
    /// Flower 1.23: a SuperNode without configured keys registers a fresh public key, then activates. This server does
    /// not authenticate SuperNodes, so registering only checks the key; the node joins the grid when it activates.
    /// </summary>
    public override Task<RegisterNodeFleetResponse> RegisterNode(RegisterNodeFleetRequest request, ServerCallContext context)
    {
        if (request.PublicKey.IsEmpty)
        {
            throw new RpcException(new RpcStatus(StatusCode.InvalidArgument, "RegisterNode needs the SuperNode's public key"));
        }

        return Task.FromResult(new RegisterNodeFleetResponse());
    }

    public override Task<ActivateNodeResponse> ActivateNode(ActivateNodeRequest request, ServerCallContext context) =>
        Task.FromResult(new ActivateNodeResponse { NodeId = (ulong)Join(request.HeartbeatInterval, context, FlowerFleetVersion.Flower123) });

    public override Task<DeactivateNodeResponse> DeactivateNode(DeactivateNodeRequest request, ServerCallContext context)
    {
        Leave(request.NodeId, "DeactivateNode");
        return Task.FromResult(new DeactivateNodeResponse());
    }

    public override Task<UnregisterNodeFleetResponse> UnregisterNode(UnregisterNodeFleetRequest request, ServerCallContext context)
    {
        Leave(request.NodeId, "UnregisterNode");
        return Task.FromResult(new UnregisterNodeFleetResponse());
    }

    private long Join(double heartbeatInterval, ServerCallContext context, FlowerFleetVersion version)
    {
        double interval = double.IsFinite(heartbeatInterval) && heartbeatInterval > 0 ? Math.Min(heartbeatInterval, 3600) : 30;
        var node = registry.Register($"supernode@{context.Peer}", partitionId: null, expiresWhenSilent: true, expiry: TimeSpan.FromSeconds(interval * HeartbeatPatience));
        directory.Add(node, version);
        FlowerLog.SuperNodeJoined(_logger, node.Id, version == FlowerFleetVersion.Flower123 ? "1.23 (ActivateNode)" : "1.19 (CreateNode)");
        if (directory.App is null)
        {
            FlowerLog.NoApp(_logger, node.Id);
        }

        return node.Id;
    }

    private void Leave(ulong nodeId, string method)
    {
        if (nodeId is > 0 and <= long.MaxValue)
        {
            registry.Remove((long)nodeId, $"the SuperNode left ({method})");
            directory.Refused.TryRemove((long)nodeId, out _);
        }
    }

    public override Task<SendNodeHeartbeatResponse> SendNodeHeartbeat(SendNodeHeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(new SendNodeHeartbeatResponse { Success = request.Node is { NodeId: <= long.MaxValue } n && registry.Touch((long)n.NodeId) is not null });

    public override Task<PullMessagesResponse> PullMessages(PullMessagesRequest request, ServerCallContext context)
    {
        var session = Session(request.Node);
        var response = new PullMessagesResponse();
        lock (session.Lock)
        {
            if (session.Task is { IsClosed: false })
            {
                // The node is still working on its instruction (or lost it before confirming: send it again).
                if (session.Outgoing is { } again)
                {
                    Add(response, again, session.Version);
                }

                return Task.FromResult(response);
            }

            session.Clear();
            while (session.Node.Outbox.Reader.TryRead(out var item))
            {
                if (item is not OutboundTask { Task: var task } || task.IsClosed)
                {
                    continue; // notifications and the end of the run have no Fleet API message
                }

                FlowerOutgoingMessage outgoing;
                try
                {
                    ulong runId = FlowerFleetMapping.RunIdOf(task.Instruction.Metadata.RunId);
                    directory.Runs[runId] = task.Instruction.Metadata.RunId;
                    outgoing = FlowerFleetMapping.ToOutgoing(FlowerInstructions.ForFlower(task.Instruction, options.FlowerOmittedConfigKeys), runId, time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, session.Version);
                }
                catch (NotSupportedException ex)
                {
                    task.Fail("unsupported", ex.Message);
                    continue;
                }

                session.Task = task;
                session.TaskMessageId = outgoing.MessageId;
                session.Outgoing = outgoing;
                Interlocked.Add(ref session.Node.BytesOut, task.Tensors.Sum(t => t.Tensor.ByteLength));
                Add(response, outgoing, session.Version);
                break;
            }
        }

        return Task.FromResult(response);
    }

    public override Task<PullObjectResponse> PullObject(PullObjectRequest request, ServerCallContext context)
    {
        var session = Session(request.Node);
        if (request.ObjectId == FlowerFleetWire.ProbeObjectId)
        {
            throw Refuse(session, "Flower 1.20 to 1.22 SuperNodes are not supported (they register as 1.19 does but read messages as 1.20 does)");
        }

        lock (session.Lock)
        {
            if (session.Outgoing?.Objects.TryGetValue(request.ObjectId, out var content) == true)
            {
                return Task.FromResult(new PullObjectResponse { ObjectFound = true, ObjectAvailable = true, ObjectContent = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(content) });
            }
        }

        return Task.FromResult(new PullObjectResponse());
    }

    public override Task<ConfirmMessageReceivedResponse> ConfirmMessageReceived(ConfirmMessageReceivedRequest request, ServerCallContext context)
    {
        var session = Session(request.Node);
        lock (session.Lock)
        {
            if (session.Outgoing?.MessageId == request.MessageObjectId)
            {
                session.Outgoing = null; // the objects are no longer needed
            }
        }

        return Task.FromResult(new ConfirmMessageReceivedResponse());
    }

    public override Task<PushMessagesResponse> PushMessages(PushMessagesRequest request, ServerCallContext context)
    {
        var session = Session(request.Node);
        if (request.MessageObjectTrees.Count == 0 && request.MessagesList.Count > 0)
        {
            // Before 1.19 a SuperNode pushed the message's content inline, without an object tree.
            throw Refuse(session, "this SuperNode pushes messages without an object tree, as Flower before 1.19 did");
        }

        if (request.MessagesList.Count != 1 || request.MessageObjectTrees.Count != 1 || request.MessagesList[0].Metadata is null)
        {
            throw new RpcException(new RpcStatus(StatusCode.InvalidArgument, "PushMessages needs exactly one message with metadata and its object tree"));
        }

        var message = request.MessagesList[0];
        var tree = request.MessageObjectTrees[0];
        IReadOnlyList<string> ids;
        try
        {
            ids = FlowerFleetMapping.TreeIds(tree);
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(new RpcStatus(StatusCode.InvalidArgument, ex.Message));
        }

        if (ids.Count > MaxReplyObjects || ids.Any(id => !FlowerObject.IsObjectId(id)))
        {
            throw new RpcException(new RpcStatus(StatusCode.InvalidArgument, $"the reply's object tree must hold at most {MaxReplyObjects} valid object ids (64 hex digits)"));
        }

        var response = new PushMessagesResponse { Reconnect = new Reconnect { Reconnect_ = 5 } };
        response.Results[tree.ObjectId] = 0;
        lock (session.Lock)
        {
            if (session.Task is not { IsClosed: false } task || session.TaskMessageId != message.Metadata.ReplyToMessageId)
            {
                // A reply to an instruction whose round closed (or that this server never sent): nothing to push.
                FlowerLog.LateReply(_logger, session.Node.Id, session.Task?.Round ?? 0);
                return Task.FromResult(response);
            }

            session.Outgoing = null;
            session.ReplyId = tree.ObjectId;
            session.Expected.Clear();
            session.Received.Clear();
            session.Expected.UnionWith(ids);
            FlowerFleetWire.AddObjectsToPush(response, tree.ObjectId, ids, session.Version);
        }

        return Task.FromResult(response);
    }

    public override Task<PushObjectResponse> PushObject(PushObjectRequest request, ServerCallContext context)
    {
        var session = Session(request.Node);
        PendingTask? complete = null;
        Dictionary<string, byte[]>? objects = null;
        string? root = null;
        lock (session.Lock)
        {
            if (session.ReplyId is null || !session.Expected.Contains(request.ObjectId))
            {
                return Task.FromResult(new PushObjectResponse { Stored = false });
            }

            var content = request.ObjectContent.ToByteArray();
            if (FlowerObject.IdOf(content) != request.ObjectId)
            {
                session.Task?.Fail("invalid_reply", $"the SuperNode pushed object {request.ObjectId} with content whose SHA-256 differs");
                session.Clear();
                throw new RpcException(new RpcStatus(StatusCode.InvalidArgument, $"object {request.ObjectId}: its content does not hash to its id"));
            }

            session.Received[request.ObjectId] = content;
            Interlocked.Add(ref session.Node.BytesIn, content.LongLength);
            if (session.Received.Count == session.Expected.Count && session.Task is { } task)
            {
                complete = task;
                objects = new Dictionary<string, byte[]>(session.Received, StringComparer.Ordinal);
                root = session.ReplyId;
                session.Clear();
            }
        }

        if (complete is not null)
        {
            var reply = FlowerFleetMapping.FromReply(complete.Instruction, root!, objects!);
            if (reply.Error is { } error)
            {
                FlowerLog.BadReply(_logger, session.Node.Id, error.Reason);
            }

            if (!(complete.TryBeginReceive(out _) && complete.Complete(new Arrival(reply, null))))
            {
                FlowerLog.LateReply(_logger, session.Node.Id, complete.Round);
            }
        }

        return Task.FromResult(new PushObjectResponse { Stored = true });
    }

    public override Task<GetRunResponse> GetRun(GetRunRequest request, ServerCallContext context)
    {
        Session(request.Node);
        if (!directory.Runs.ContainsKey(request.RunId))
        {
            throw new RpcException(new RpcStatus(StatusCode.NotFound, $"run {request.RunId} is not this server's run"));
        }

        if (registry.IsFinished)
        {
            // The run is over: say so, as a SuperLink does (a Federate SuperNode stops then).
            return Task.FromResult(new GetRunResponse { Run = new Run { RunId = request.RunId, Status = new RunStatus { Status = "finished", SubStatus = "completed" } } });
        }

        var app = RequireApp();
        return Task.FromResult(new GetRunResponse
        {
            Run = new Run { RunId = request.RunId, FabId = app.FabId, FabVersion = app.Version, FabHash = app.Hash, Status = new RunStatus { Status = "running" } },
        });
    }

    public override Task<GetFabResponse> GetFab(GetFabRequest request, ServerCallContext context)
    {
        Session(request.Node);
        var app = RequireApp();
        if (request.HashStr != app.Hash)
        {
            throw new RpcException(new RpcStatus(StatusCode.NotFound, $"no Flower app with hash {request.HashStr} (this server serves {app.FabId} {app.Version}, hash {app.Hash})"));
        }

        return Task.FromResult(new GetFabResponse { Fab = new Fab { HashStr = app.Hash, Content = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(app.Content) } });
    }

    /// <summary>Refuses a node whose Flower version this server does not speak: its task fails, it leaves the grid, and every later call gets the reason.</summary>
    private RpcException Refuse(SuperNodeSession session, string problem)
    {
        string reason = $"{problem}: run flower-supernode from {SupportedVersions}, the versions this server speaks";
        FlowerLog.UnsupportedVersion(_logger, session.Node.Id, reason);
        directory.Refused[session.Node.Id] = reason;
        lock (session.Lock)
        {
            session.Task?.Fail("unsupported_version", reason);
            session.Clear();
        }

        registry.Remove(session.Node.Id, reason);
        return new RpcException(new RpcStatus(StatusCode.FailedPrecondition, reason));
    }

    private FlowerAppBundle RequireApp() => directory.App ?? throw new RpcException(new RpcStatus(StatusCode.FailedPrecondition, "this Federate server has no Flower app for SuperNodes: start it with --flower-app DIR|FILE.fab"));

    private SuperNodeSession Session(Node? node)
    {
        if (node is { NodeId: <= long.MaxValue } && directory.Refused.TryGetValue((long)node.NodeId, out var refused))
        {
            throw new RpcException(new RpcStatus(StatusCode.FailedPrecondition, refused));
        }

        if (node is { NodeId: > 0 and <= long.MaxValue } && registry.Touch((long)node.NodeId) is { } known)
        {
            return directory.Get(known.Id) ?? directory.Add(known);
        }

        throw new RpcException(new RpcStatus(StatusCode.NotFound, $"unknown SuperNode {node?.NodeId ?? 0} (the server restarted, or dropped it after missed heartbeats): restart flower-supernode"));
    }

    private static void Add(PullMessagesResponse response, FlowerOutgoingMessage outgoing, FlowerFleetVersion version)
    {
        response.MessagesList.Add(outgoing.Message);
        FlowerFleetWire.AddObjectsToPull(response, outgoing, version);
    }
}
