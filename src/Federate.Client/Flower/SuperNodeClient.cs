using System.Security.Cryptography;
using Federate.Client.Internal;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.FlowerFleet;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ArrayRecord = Federate.Core.Records.ArrayRecord;
using CoreMessage = Federate.Core.Message;
using Metadata = Federate.Protocol.FlowerFleet.Metadata;

namespace Federate.Client.Flower;

/// <summary>
/// Runs a Federate client app as a Flower SuperNode under a Flower 1.19 or 1.23 SuperLink's Fleet API (or Federate's
/// own <c>--flower-port</c>): registers (<c>CreateNode</c>; where the SuperLink does not have it, Flower 1.23's
/// <c>RegisterNode</c> and <c>ActivateNode</c>), sends heartbeats, polls <c>PullMessages</c>, pulls the
/// message's objects (each checked against its SHA-256 id), confirms them, lets the app answer "train", "evaluate"
/// or "query", and pushes the reply's objects. The app's own code runs (no Flower app is downloaded). The run is
/// over when the SuperLink reports the run finished (after at least one answer); then the node unregisters.
/// </summary>
public sealed class SuperNodeClient : IDisposable
{
    private const double HeartbeatSeconds = 30;

    private readonly IClientApp _app;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly Fleet.FleetClient _fleet;
    private readonly string _server;
    private readonly TimeSpan _poll;
    private readonly TimeProvider _time;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly byte[] _publicKey;
    private ArrayRecord? _template;
    private bool _templateAsked;
    private readonly FlowerFleetVersion? _forced;
    private FlowerFleetVersion _version = FlowerFleetVersion.Flower119;

    /// <summary>Creates a SuperNode for the SuperLink at <paramref name="server"/> (HOST:PORT of its Fleet API, plain HTTP/2).</summary>
    /// <param name="server">HOST:PORT, or a URL.</param>
    /// <param name="app">The client app that answers.</param>
    /// <param name="logger">Logger, or null.</param>
    /// <param name="poll">How long to wait between polls when there is no message (Flower's SuperNode: 3 s). Default 1 s.</param>
    /// <param name="time">Time source for heartbeats and polls; default the system's.</param>
    /// <param name="version">The Fleet API shape to speak; null (the default) tries Flower 1.19's <c>CreateNode</c> and
    /// falls back to 1.23's registration where the SuperLink has none.</param>
    public SuperNodeClient(string server, IClientApp app, ILogger? logger = null, TimeSpan? poll = null, TimeProvider? time = null, FlowerFleetVersion? version = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(server);
        _app = app ?? throw new ArgumentNullException(nameof(app));
        _logger = logger ?? NullLogger.Instance;
        _server = server;
        _poll = poll ?? TimeSpan.FromSeconds(1);
        _time = time ?? TimeProvider.System;
        _forced = version;
        var address = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = FlowerMapping.MaxMessageSize, MaxSendMessageSize = null });
        _fleet = new Fleet.FleetClient(_channel);

        // A Flower SuperLink wants every call signed by the node's key (as Flower's SuperNode does with a fresh key
        // when none is configured); Federate's server ignores the headers.
        _publicKey = System.Text.Encoding.ASCII.GetBytes(_key.ExportSubjectPublicKeyInfoPem() + "\n");
    }

    /// <summary>Number of messages answered so far.</summary>
    public int Answered { get; private set; }

    /// <summary>The SuperLink's Fleet API version, known once registered.</summary>
    public FlowerFleetVersion Version => _version;

    /// <summary>Answers the SuperLink's messages until its run finishes.</summary>
    /// <exception cref="FleetClientException">The SuperLink failed or refused a call (one-line reason).</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var node = await RegisterAsync(cancellationToken).ConfigureAwait(false);

        ClientLog.SuperNodeRegistered(_logger, _server, node.NodeId);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = HeartbeatAsync(node, stop.Token);
        ulong? runId = null;
        try
        {
            while (true)
            {
                var pulled = await _fleet.PullMessagesAsync(new PullMessagesRequest { Node = node }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (pulled.MessagesList.Count == 0)
                {
                    if (runId is { } id && Answered > 0 && await RunFinishedAsync(node, id, cancellationToken).ConfigureAwait(false))
                    {
                        ClientLog.SuperNodeRunFinished(_logger, id, Answered);
                        return;
                    }

                    await Task.Delay(_poll, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var listed = pulled.MessagesList[0].Metadata;
                runId = listed.RunId;
                await AnswerAsync(node, listed, FlowerFleetWire.ReadObjectsToPull(pulled, listed.MessageId, _version), cancellationToken).ConfigureAwait(false);
                Answered++;
            }
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FleetClientException($"the Fleet API at {_server} failed after {Answered} answers: {ex.StatusCode} {ex.Status.Detail}", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new FleetClientException($"the Fleet API at {_server} sent an unreadable answer after {Answered} answers: {ex.Message}", ex);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await heartbeats.ConfigureAwait(false);
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(5);
                if (_version == FlowerFleetVersion.Flower123)
                {
                    await _fleet.DeactivateNodeAsync(new DeactivateNodeRequest { NodeId = node.NodeId }, headers: Auth(), deadline: deadline, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    await _fleet.UnregisterNodeAsync(new UnregisterNodeFleetRequest { NodeId = node.NodeId }, headers: Auth(), deadline: deadline, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await _fleet.DeleteNodeAsync(new DeleteNodeRequest { Node = node }, headers: Auth(), deadline: deadline, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (RpcException)
            {
                // The SuperLink may be gone already; the node expires there anyway.
            }
        }
    }

    /// <summary>
    /// Registers as Flower 1.19's SuperNode does (<c>CreateNode</c>), or as 1.23's (<c>RegisterNode</c> then
    /// <c>ActivateNode</c>) when asked to or where the SuperLink has no <c>CreateNode</c>.
    /// </summary>
    private async Task<Node> RegisterAsync(CancellationToken cancellationToken)
    {
        string method = "CreateNode";
        try
        {
            if (_forced != FlowerFleetVersion.Flower123)
            {
                try
                {
                    return (await _fleet.CreateNodeAsync(new CreateNodeRequest { HeartbeatInterval = HeartbeatSeconds }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false)).Node;
                }
                catch (RpcException ex) when (_forced is null && ex.StatusCode is StatusCode.Unimplemented or StatusCode.Unknown)
                {
                    // A Flower 1.23+ SuperLink has no CreateNode (Flower's answers UNKNOWN "Unknown Error in service
                    // handler", its node-auth interceptor failing on the request): register the key, then activate.
                }
            }

            _version = FlowerFleetVersion.Flower123;
            method = "RegisterNode";
            var key = Google.Protobuf.ByteString.CopyFrom(_publicKey);
            await _fleet.RegisterNodeAsync(new RegisterNodeFleetRequest { PublicKey = key }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
            method = "ActivateNode";
            var activated = await _fleet.ActivateNodeAsync(new ActivateNodeRequest { PublicKey = key, HeartbeatInterval = HeartbeatSeconds }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
            return new Node { NodeId = activated.NodeId };
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FleetClientException($"the Flower SuperLink at {_server} refused {method}: {ex.StatusCode} {ex.Status.Detail}", ex);
        }
    }

    private async Task AnswerAsync(Node node, Metadata listed, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var id in ids.Append(listed.MessageId).Distinct(StringComparer.Ordinal))
        {
            var pulled = await _fleet.PullObjectAsync(new PullObjectRequest { Node = node, RunId = listed.RunId, ObjectId = id }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
            var content = pulled.ObjectContent.ToByteArray();
            if (!pulled.ObjectFound || !pulled.ObjectAvailable || FlowerObject.IdOf(content) != id)
            {
                throw new FleetClientException($"the SuperLink at {_server} did not give object {id} of message {listed.MessageId} (found {pulled.ObjectFound}, available {pulled.ObjectAvailable})");
            }

            objects[id] = content;
        }

        var runId = $"flower-run-{listed.RunId}";
        CoreMessage reply;
        CoreMessage? instruction = null;
        try
        {
            if (listed.MessageType is "train" or "evaluate")
            {
                await EnsureTemplateAsync(runId, cancellationToken).ConfigureAwait(false);
            }

            instruction = FlowerFleetMapping.ToInstruction(listed.MessageId, objects, runId, (long)node.NodeId, _template);
            reply = await _app.HandleAsync(instruction, cancellationToken).ConfigureAwait(false);
            if (instruction.Metadata.MessageType == MessageType.Query && reply.Content?.Arrays.GetValueOrDefault(RecordNames.Model) is { Count: > 0 } model)
            {
                _template ??= model;
            }
        }
        catch (InvalidDataException ex)
        {
            ClientLog.FlowerBadInstruction(_logger, ex.Message);
            reply = new CoreMessage(new MessageMetadata { RunId = runId, Round = 0, MessageType = MessageType.Custom }, new MessageError("invalid_instruction", ex.Message));
        }

        // Confirmed once answered, not as soon as pulled: Flower 1.23's SuperLink frees a message's objects on
        // confirmation, and a confirmation racing the ServerApp's registration of the same objects for the next node's
        // message lost them there ("Object ... not found", that node's message unavailable); a Flower SuperNode,
        // polling every 3 s and starting a process per message, confirms late enough not to meet that window.
        await _fleet.ConfirmMessageReceivedAsync(new ConfirmMessageReceivedRequest { Node = node, RunId = listed.RunId, MessageObjectId = listed.MessageId }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
        ClientLog.FlowerAnswered(_logger, listed.MessageType, instruction?.Metadata.Round ?? 0, reply.Error?.Reason ?? "ok");
        double now = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var metadata = new Metadata
        {
            RunId = listed.RunId,
            SrcNodeId = node.NodeId,
            DstNodeId = listed.SrcNodeId,
            ReplyToMessageId = listed.MessageId,
            GroupId = listed.GroupId,
            MessageType = listed.MessageType,
            CreatedAt = now,

            // A reply lives no longer than the message it answers (Flower refuses one that would).
            Ttl = Math.Max(0, listed.CreatedAt + listed.Ttl - now),
        };
        var outgoing = FlowerFleetMapping.ToReplyObjects(reply, metadata, _version);
        var pushed = await _fleet.PushMessagesAsync(new PushMessagesRequest { Node = node, MessagesList = { outgoing.Message }, MessageObjectTrees = { outgoing.Tree() } }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var id in FlowerFleetWire.ReadObjectsToPush(pushed, outgoing.MessageId, _version))
        {
            if (!outgoing.Objects.TryGetValue(id, out var content))
            {
                continue;
            }

            var stored = await _fleet.PushObjectAsync(new PushObjectRequest { Node = node, RunId = listed.RunId, ObjectId = id, ObjectContent = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(content) }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!stored.Stored)
            {
                throw new FleetClientException($"the SuperLink at {_server} did not store object {id} of the reply to {listed.MessageId}");
            }
        }
    }

    /// <summary>True when the SuperLink says the run is over (its status "finished", or it refuses the run as not running).</summary>
    private async Task<bool> RunFinishedAsync(Node node, ulong runId, CancellationToken cancellationToken)
    {
        try
        {
            var run = (await _fleet.GetRunAsync(new GetRunRequest { Node = node, RunId = runId }, headers: Auth(), cancellationToken: cancellationToken).ConfigureAwait(false)).Run;
            return run is null || run.Status?.Status == "finished";
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.NotFound)
        {
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            // A Federate server without a Flower app serves no run details until its run is over.
            return false;
        }
    }

    private async Task HeartbeatAsync(Node node, CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(HeartbeatSeconds * 0.8), _time);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await _fleet.SendNodeHeartbeatAsync(new SendNodeHeartbeatRequest { Node = node, HeartbeatInterval = HeartbeatSeconds }, headers: Auth(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException) when (!cancellationToken.IsCancellationRequested)
                {
                    // A missed heartbeat is retried at the next tick; polling fails loudly if the SuperLink is gone.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped with the node.
        }
    }

    /// <summary>Flower arrays are named by the server; they take the names and shapes of the app's own model (asked once).</summary>
    private async Task EnsureTemplateAsync(string runId, CancellationToken cancellationToken)
    {
        if (_templateAsked)
        {
            return;
        }

        _templateAsked = true;
        _template ??= await ClientTemplate.AskAsync(_app, runId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flower's node authentication headers: the node's public key (PEM), a timestamp and its ECDSA signature.</summary>
    private Grpc.Core.Metadata Auth()
    {
        var timestamp = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", System.Globalization.CultureInfo.InvariantCulture);
        var signature = _key.SignData(System.Text.Encoding.ASCII.GetBytes(timestamp), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new Grpc.Core.Metadata
        {
            { "flwr-public-key-bin", _publicKey },
            { "flwr-timestamp", timestamp },
            { "flwr-signature-bin", signature },
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _channel.Dispose();
        _key.Dispose();
    }
}
