
using Federate.Client.Internal;
using Federate.Core;
using Federate.Core.Diagnostics;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federate.Client;

/// <summary>
/// Connects a client app to a Federate server over the native fleet API: registers (retrying with backoff while the
/// server is unreachable), then pulls tasks, runs the app, and submits replies, heartbeating all along; rejoins after
/// a network drop or expiry; quits cleanly when cancelled.
/// </summary>
public sealed class FleetClient : IDisposable
{
    private readonly FleetClientOptions _options;
    private readonly IClientApp _app;
    private readonly INotificationHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly GrpcChannel _channel;
    private readonly Fleet.FleetClient _client;
    private readonly Metadata _headers = [];
    private readonly Federate.Security.ClientIdentity? _identity;
    private volatile string? _token;
    private Federate.Security.PayloadCipher? _cipher;
    private Google.Protobuf.ByteString _serverCertificate = Google.Protobuf.ByteString.Empty;
    private BulkChannel? _bulk;
    private volatile bool _submitAndPull = true;
    private readonly TaskThread _taskThread = new();
    private long? _unreachableSince;

    /// <summary>Creates a client; nothing connects until <see cref="RunAsync"/>.</summary>
    public FleetClient(FleetClientOptions options, IClientApp app, INotificationHandler? handler = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        // Update compression: when the server's train config asks for a codec, the update is sent encoded.
        _app = Federate.Core.Compression.UpdateCompressor.Wrap(app ?? throw new ArgumentNullException(nameof(app)));
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        _handler = handler ?? new NotificationHandler();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        var http = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.CallTimeout,
            InitialHttp2StreamWindowSize = 2 << 20,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        _identity = options.Insecure ? null : options.Identity;
        if (_identity is not null)
        {
            SecureChannel.Configure(http, _identity.Ca);
        }

        _channel = GrpcChannel.ForAddress($"{(_identity is null ? "http" : "https")}://{options.Server}", new GrpcChannelOptions
        {
            HttpHandler = http,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = FleetProtocol.MaxMessageSize,
            MaxSendMessageSize = FleetProtocol.MaxMessageSize,
        });
        _client = new Fleet.FleetClient(_channel);
        if (options.Compression == "gzip")
        {
            _headers.Add("grpc-internal-encoding-request", "gzip");
        }
    }

    /// <summary>Tests only: raised when a task's tensors are about to be allocated (after earlier models were collected).</summary>
    internal static event Action<FleetClient>? ModelAllocating;

    /// <summary>The node id of the current registration (0 before joining).</summary>
    public long NodeId { get; private set; }

    /// <summary>Takes part in the run until it finishes or <paramref name="cancellationToken"/> fires.</summary>
    /// <exception cref="FleetClientException">The server is incompatible or refuses this client for good.</exception>
    public async Task<ClientExit> RunAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runningInProcess);
        try
        {
            return await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _runningInProcess);
        }
    }

    /// <summary>Clients running in this process now (virtual clients, tests): the memory return is for a lone client.</summary>
    private static int _runningInProcess;

    private async Task<ClientExit> RunCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var session = await RegisterAsync(cancellationToken).ConfigureAwait(false);
                while (true)
                {
                    var (exit, dropped) = await RunSessionAsync(session, cancellationToken).ConfigureAwait(false);
                    if (exit is { } e)
                    {
                        if (e == ClientExit.Finished)
                        {
                            await QuitAsync("run finished").ConfigureAwait(false);
                        }

                        return e;
                    }

                    // A dropped connection keeps the registration when the server still knows this node.
                    if (!dropped || !await ResumeAsync(session, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            await QuitAsync("stopped by the operator").ConfigureAwait(false);
            ClientLog.Quit(_logger);
            return ClientExit.Stopped;
        }
        catch (FleetClientException ex)
        {
            // Leave at once, so the server does not wait for this node in the next round.
            await QuitAsync(ex.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _bulk?.Dispose();
        _channel.Dispose();
        _taskThread.Dispose();
    }

    /// <summary>Consecutive failed HTTP/2 handshakes on a plain connection after which the server is taken for a TLS one.</summary>
    private const int PlainHandshakeFailuresMeaningTls = 3;

    private CallOptions Unary(CancellationToken cancellationToken) =>
        new(Headers(), _time.GetUtcNow().UtcDateTime + _options.CallTimeout, cancellationToken);

    /// <summary>The call headers: compression and, in a secure session, the current session token.</summary>
    private Metadata Headers()
    {
        if (_token is not { } token)
        {
            return _headers;
        }

        var headers = new Metadata();
        foreach (var h in _headers)
        {
            headers.Add(h);
        }

        headers.Add(Federate.Security.SessionTokens.Header, token);
        return headers;
    }

    private async Task<RegisterReply> RegisterAsync(CancellationToken cancellationToken)
    {
        var delay = _options.RetryInterval;

        // A plain connection whose HTTP/2 handshake fails looks the same whether the server speaks TLS or died (or
        // was cut off) in the middle of the handshake: only several failures in a row mean TLS.
        int plainHandshakeFailures = 0;
        while (true)
        {
            try
            {
                var request = new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = _options.Name, PartitionId = _options.PartitionId ?? -1 };
                _token = null;
                if (_identity is not null)
                {
                    await ChallengeAsync(request, cancellationToken).ConfigureAwait(false);
                }

                var reply = await _client.RegisterAsync(request, Unary(cancellationToken)).ConfigureAwait(false);
                if (FleetProtocol.CheckVersion(reply.ProtocolVersion, "server") is { } problem)
                {
                    throw new FleetClientException(problem);
                }

                if (_identity is not null)
                {
                    if (string.IsNullOrEmpty(reply.SessionToken))
                    {
                        throw new FleetClientException("the server gave no session token; it is not a Federate server with kits");
                    }

                    _token = reply.SessionToken;
                    _cipher = reply.WrappedPayloadKey.IsEmpty ? null : new Federate.Security.PayloadCipher(
                        _identity.UnwrapPayloadKey(reply.WrappedPayloadKey.ToByteArray(), _serverCertificate.Span, request.ServerNonce.Span, reply.PayloadKeySignature.ToByteArray()),
                        reply.NodeId);
                }

                NodeId = reply.NodeId;
                _bulk?.Dispose();
                _bulk = reply.TransferPort > 0 && _options.UseTransferEndpoint && _options.Compression != "gzip"
                    ? await BulkChannel.TryOpenAsync(_options.Server, reply.TransferPort, _identity, _options.CallTimeout, _logger, _options.TaskLogLevel, cancellationToken).ConfigureAwait(false)
                    : null;
                _unreachableSince = null;
                ClientLog.Joined(_logger, _options.Server, reply.NodeId, reply.RunId);
                return reply;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument)
            {
                throw new FleetClientException($"the server refused to register this client: {ex.Status.Detail}");
            }
            catch (RpcException ex) when (SecureChannel.Describe(ex, _identity is not null) is { } tlsProblem && (_identity is not null || ++plainHandshakeFailures >= PlainHandshakeFailuresMeaningTls || !IsTransient(ex)))
            {
                throw new FleetClientException(tlsProblem);
            }
            catch (Federate.Security.SecurityException ex)
            {
                throw new FleetClientException(ex.Message);
            }
            catch (RpcException ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                plainHandshakeFailures = SecureChannel.Describe(ex, secure: false) is null ? 0 : plainHandshakeFailures;
                delay = await BackOffAsync(ex, delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Pull, handle, submit until the run ends (returns the exit), the server forgets the node (null, not dropped) or
    /// the connection fails (null, dropped).
    /// </summary>
    private async Task<(ClientExit? Exit, bool Dropped)> RunSessionAsync(RegisterReply session, CancellationToken cancellationToken)
    {
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatLoopAsync(session, lost, cancellationToken);

        // The call that carried the last reply and now brings the next task (SubmitAndPull), or null.
        AsyncDuplexStreamingCall<UpdateFrame, TaskFrame>? pending = null;
        try
        {
            while (true)
            {
                Message? task;
                try
                {
                    // The next task comes on the call that carried the last reply (SubmitAndPull), read only here: the
                    // last task's and reply's variables are out of scope (the compiler clears them), so their models
                    // are garbage when the next model is allocated.
                    var carried = pending is not null ? await NextOnAsync(pending, lost.Token).ConfigureAwait(false) : null;
                    pending = null;
                    var pulled = carried ?? await PullAsync(session.NodeId, lost.Token).ConfigureAwait(false);
                    if (pulled.Finished is { } finished)
                    {
                        ClientLog.Finished(_logger, string.IsNullOrEmpty(finished.Detail) ? finished.StopReason : finished.Detail);
                        return (ClientExit.Finished, false);
                    }

                    task = pulled.Task;
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.PermissionDenied)
                {
                    ClientLog.Rejoining(_logger, session.NodeId, ex.Status.Detail);
                    return (null, false);
                }

                if (task is null)
                {
                    continue;
                }

                var reply = await HandleAsync(task, lost.Token).ConfigureAwait(false);
                try
                {
                    pending = await SubmitAsync(session.NodeId, reply, lost.Token).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument)
                {
                    // The server refused the update's content (shape, NaN, a missing metric): every later update would
                    // be refused the same way, so stop with the server's reason.
                    throw new FleetClientException($"the server refused this client's update: {ex.Status.Detail}");
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.PermissionDenied)
                {
                    ClientLog.SubmitRefused(_logger, task.Metadata.Round, ex.Status.Detail);
                }

                catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unauthenticated)
                {
                    ClientLog.Rejoining(_logger, session.NodeId, ex.Status.Detail);
                    return (null, false);
                }

                if (reply.Error is { } failed)
                {
                    if (failed.Code == Federate.Core.Client.FederatedClient.ModelMismatchCode)
                    {
                        // The server knows why this client failed (its reply says so); this client cannot take part.
                        throw new FleetClientException($"this client cannot train the server's model: {failed.Reason}");
                    }

                    ClientLog.TaskFailed(_logger, task.Metadata.Round, task.Metadata.MessageType.ToString().ToLowerInvariant(), failed.Code, failed.Reason);
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (ex is RpcException or IOException or HttpRequestException || (ex is OperationCanceledException && lost.IsCancellationRequested)))
        {
            ClientLog.ConnectionLost(_logger, _options.Server, ex is RpcException r ? Describe(r) : ex.Message);
            return (null, true);
        }
        finally
        {
            pending?.Dispose();
            await lost.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a failed attempt to reach the server: gives up when it has been unreachable for longer than
    /// <see cref="FleetClientOptions.GiveUpAfter"/>, otherwise logs, waits <paramref name="delay"/> and returns the
    /// next (doubled, capped) wait.
    /// </summary>
    private async Task<TimeSpan> BackOffAsync(RpcException ex, TimeSpan delay, CancellationToken cancellationToken)
    {
        _unreachableSince ??= _time.GetTimestamp();
        var unreachable = _time.GetElapsedTime(_unreachableSince.Value);
        if (_options.GiveUpAfter is { } giveUp && unreachable + delay > giveUp)
        {
            throw new FleetClientException(
                $"the server at {_options.Server} has been unreachable for {unreachable.TotalSeconds:0.#} s ({Describe(ex)}); giving up after --give-up-after {giveUp.TotalSeconds:0.###} s");
        }

        ClientLog.Unreachable(_logger, _options.Server, Describe(ex), delay.TotalSeconds);
        await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        return TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryInterval.Ticks));
    }

    /// <summary>After a drop: true when the old registration is still alive, false when the client must register again.</summary>
    private async Task<bool> ResumeAsync(RegisterReply session, CancellationToken cancellationToken)
    {
        var delay = _options.RetryInterval;
        while (true)
        {
            try
            {
                var reply = await _client.HeartbeatAsync(new HeartbeatRequest { NodeId = session.NodeId }, Unary(cancellationToken)).ConfigureAwait(false);
                if (reply.RunId != session.RunId)
                {
                    ClientLog.Rejoining(_logger, session.NodeId, $"the server now runs {reply.RunId}");
                    return false;
                }

                _unreachableSince = null;
                RenewToken(reply);
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                ClientLog.Rejoining(_logger, session.NodeId, ex.Status.Detail);
                return false;
            }
            catch (RpcException ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                delay = await BackOffAsync(ex, delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HeartbeatLoopAsync(RegisterReply session, CancellationTokenSource lost, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromMilliseconds(Math.Max(50, session.HeartbeatIntervalMs));
        var expiry = TimeSpan.FromMilliseconds(Math.Max(session.NodeExpiryMs, session.HeartbeatIntervalMs * 2));
        long lastOk = _time.GetTimestamp();
        try
        {
            while (!lost.IsCancellationRequested)
            {
                await Task.Delay(interval, _time, lost.Token).ConfigureAwait(false);
                try
                {
                    var reply = await _client.HeartbeatAsync(new HeartbeatRequest { NodeId = session.NodeId }, Unary(lost.Token)).ConfigureAwait(false);
                    if (reply.RunId != session.RunId)
                    {
                        await lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    RenewToken(reply);
                    lastOk = _time.GetTimestamp();
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.PermissionDenied)
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (RpcException) when (!lost.IsCancellationRequested)
                {
                    if (_time.GetElapsedTime(lastOk) > expiry)
                    {
                        await lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
        catch (RpcException) when (lost.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            // The session ended while a heartbeat was in flight.
        }
    }

    private async Task<Pulled> PullAsync(long nodeId, CancellationToken cancellationToken)
    {
        using var call = _client.PullTask(
            new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, WaitMs = (long)_options.PollWait.TotalMilliseconds, Bulk = _bulk is not null },
            new CallOptions(Headers(), cancellationToken: cancellationToken));
        return await ReadTaskAsync(call.ResponseStream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a pull brings: notifications (handled here), then a task, the run's end, or nothing (poll time up).</summary>
    private async Task<Pulled> ReadTaskAsync(IAsyncStreamReader<TaskFrame> stream, CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var frame = stream.Current;
            switch (frame.FrameCase)
            {
                case TaskFrame.FrameOneofCase.Notification:
                    await NotifyAsync(frame.Notification, cancellationToken).ConfigureAwait(false);
                    break;
                case TaskFrame.FrameOneofCase.Finished:
                    return new Pulled(null, frame.Finished);
                case TaskFrame.FrameOneofCase.Task:
                    return new Pulled(await ReceiveTaskAsync(frame.Task, stream, cancellationToken).ConfigureAwait(false), null);
                default:
                    throw new InvalidDataException($"unexpected {frame.FrameCase} frame before a task header");
            }
        }

        return new Pulled(null, null);
    }

    private async Task<Message> ReceiveTaskAsync(TaskHeader header, IAsyncStreamReader<TaskFrame> stream, CancellationToken cancellationToken)
    {
        var metadata = Mapping.FromProto(header.Metadata);
        var content = new RecordDict();
        foreach (var c in header.Configs)
        {
            content.Configs[c.Name] = Mapping.FromProto(c);
        }

        foreach (var m in header.Metrics)
        {
            content.Metrics[m.Name] = Mapping.FromProto(m);
        }

        ReleaseDeadModels(header.Tensors, _options.ReturnMemoryBetweenTasks && Volatile.Read(ref _runningInProcess) == 1);
        ModelAllocating?.Invoke(this);
        if (Mapping.TryAllocate(header.Tensors, content, out var tensors) is { } problem)
        {
            throw new InvalidDataException($"the server sent an invalid task: {problem}");
        }

        if (header.Bulk)
        {
            var bulk = _bulk ?? throw new InvalidDataException("the server sent a task for the transfer endpoint, which this client does not use");
            long received = await bulk.DownloadAsync(NodeId, () => _token, metadata.MessageId, tensors, _cipher, cancellationToken).ConfigureAwait(false);
            TaskReceived(metadata, received);
            return new Message(metadata, content);
        }

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var verifier = new ChunkVerifier([.. tensors.Select(t => (t.ByteLength, t.DType.SizeOf()))], FleetProtocol.MaxChunkSize);
        long bytes = 0;
        var cipher = _cipher;
        while (!verifier.IsComplete && await stream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var frame = stream.Current;
            if (cipher is not null && frame.FrameCase == TaskFrame.FrameOneofCase.Chunk)
            {
                // In the received frame's own buffer (gRPC parsing gave it a private copy): no buffer per chunk.
                var c = frame.Chunk;
                if (!cipher.TryDecryptInPlace(System.Runtime.InteropServices.MemoryMarshal.AsMemory(c.Data.Memory).Span, c.Nonce.Span, c.Tag.Span, Federate.Security.PayloadDirection.ToClient, c.TensorIndex, c.Offset, out var cipherProblem))
                {
                    throw new InvalidDataException($"the server sent a corrupt task: {cipherProblem}");
                }
            }

            string? bad = frame.FrameCase switch
            {
                TaskFrame.FrameOneofCase.Chunk => verifier.Verify(frame.Chunk),
                TaskFrame.FrameOneofCase.Digest => verifier.Verify(frame.Digest),
                _ => $"unexpected {frame.FrameCase} frame inside a task",
            };
            if (bad is not null)
            {
                throw new InvalidDataException($"the server sent a corrupt task: {bad}");
            }

            if (frame.FrameCase == TaskFrame.FrameOneofCase.Chunk)
            {
                var chunk = frame.Chunk;
                chunk.Data.Span.CopyTo(tensors[chunk.TensorIndex].AsBytes()[(int)chunk.Offset..]);
                bytes += chunk.Data.Length;
            }
        }

        if (!verifier.IsComplete)
        {
            throw new IOException("the task stream ended before all tensors arrived");
        }

        Transferred("download", bytes, started);
        TaskReceived(metadata, bytes);
        return new Message(metadata, content);
    }

    /// <summary>Tasks of at least this many tensor bytes first collect the models of earlier tasks.</summary>
    private const long CollectBeforeBytes = 4L << 20;

    /// <summary>
    /// Before a big model is allocated, the models of earlier tasks that are garbage by now are collected: the
    /// garbage collector otherwise lets several dead model-sized arrays pile up (large objects are collected only
    /// when their budget runs out), which took a client's peak memory to 5-8 times the model. With
    /// <paramref name="returnMemory"/> the collection is aggressive: after a plain one the runtime returns the dead
    /// arrays' pages to the system only gradually, so the next model went to fresh pages while the dead ones were
    /// still resident (3 models at the peak instead of 2). It compacts, but the models of earlier tasks are dead by
    /// now, so it moves little; returning the pages takes 2-3 ms for 10 MB and 15-50 ms for 256 MB. Only for a client
    /// alone in its process: with several (virtual clients), each one's aggressive collection would compact the
    /// others' live models too (16 virtual clients of a 100 MB model: rounds 20-40% longer for 15% less memory).
    /// </summary>
    private static void ReleaseDeadModels(IReadOnlyList<TensorLayout> layouts, bool returnMemory)
    {
        long bytes = 0;
        foreach (var layout in layouts)
        {
            if (Mapping.DescribeLayout(layout, out var dtype, out var shape) is null)
            {
                bytes += Tensor.ElementCount(shape) * dtype.SizeOf();
            }
        }

        if (bytes >= CollectBeforeBytes)
        {
            if (returnMemory)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            else
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
            }
        }
    }

    private async Task<Message> HandleAsync(Message task, CancellationToken cancellationToken)
    {
        try
        {
            // Training is CPU-bound: on this client's own thread, so heartbeats keep flowing.
            return await _taskThread.RunAsync(
                () => _app.HandleAsync(task, cancellationToken).AsTask().GetAwaiter().GetResult(),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return task.CreateErrorReply(new MessageError("client_error", ex.Message));
        }
    }

    /// <summary>
    /// Sends the reply to a task. A reply with at most <see cref="FleetProtocol.InlineTensorBytes"/> of tensors goes
    /// over SubmitAndPull, whose call goes on to wait for the next task: it is returned once the server has accepted
    /// the update, for <see cref="NextOnAsync"/>. Otherwise (an error reply, a bigger update, a server without
    /// SubmitAndPull) returns null and the caller pulls.
    /// </summary>
    private async Task<AsyncDuplexStreamingCall<UpdateFrame, TaskFrame>?> SubmitAsync(long nodeId, Message reply, CancellationToken cancellationToken)
    {
        FaultPoints.Reach("client-submit");
        var header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = reply.Metadata.ToProto() };
        IReadOnlyList<(string Record, string Name, Tensor Tensor)> tensors = [];
        if (reply.Error is { } error)
        {
            header.Error = new ReplyError { Code = error.Code, Reason = error.Reason };
        }
        else if (reply.Content is { } content)
        {
            Mapping.AddRecords(content, header.Configs, header.Metrics, header.Tensors);
            tensors = Mapping.FlattenArrays(content);
        }

        long tensorBytes = tensors.Sum(t => t.Tensor.ByteLength);
        if (_bulk is { } bulk && tensorBytes > FleetProtocol.InlineTensorBytes)
        {
            await bulk.UploadAsync(nodeId, _token, header, [.. tensors.Select(t => t.Tensor)], _options.ChunkSize, _cipher, () => FaultPoints.Reach("client-upload"), cancellationToken).ConfigureAwait(false);
            Submitted(reply);
            return null;
        }

        // An error reply may be this client's last word (it stops on some): it does not wait for a next task. A reply
        // with more than a small model's tensors goes over SubmitUpdate: the call may keep a reference to a chunk it
        // sent, which wraps the reply's tensor, and a SubmitAndPull call lives on until the next task has arrived.
        if (_submitAndPull && reply.Error is null && tensorBytes <= FleetProtocol.InlineTensorBytes)
        {
            header.Pull = new PullTaskRequest { WaitMs = (long)_options.PollWait.TotalMilliseconds, Bulk = _bulk is not null };
            try
            {
                return await SubmitAndPullAsync(header, tensors, reply, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                // A server from before SubmitAndPull: it refused the call before reading any of it.
                _submitAndPull = false;
                header.Pull = null;
            }
        }

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var call = _client.SubmitUpdate(new CallOptions(Headers(), cancellationToken: cancellationToken));
        long bytes;
        try
        {
            bytes = await WriteUpdateAsync(call.RequestStream, header, tensors, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or RpcException or IOException && !cancellationToken.IsCancellationRequested)
        {
            // The server ended the call early (a refusal): its status explains why.
            await call.ResponseAsync.ConfigureAwait(false);
            throw;
        }

        await call.ResponseAsync.ConfigureAwait(false);
        if (bytes > 0)
        {
            Transferred("upload", bytes, started);
        }

        Submitted(reply);
        return null;
    }

    private async Task<AsyncDuplexStreamingCall<UpdateFrame, TaskFrame>> SubmitAndPullAsync(UpdateHeader header, IReadOnlyList<(string Record, string Name, Tensor Tensor)> tensors, Message reply, CancellationToken cancellationToken)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var call = _client.SubmitAndPull(new CallOptions(Headers(), cancellationToken: cancellationToken));
        try
        {
            var stream = call.ResponseStream;
            long bytes;
            try
            {
                bytes = await WriteUpdateAsync(call.RequestStream, header, tensors, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or RpcException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // The server ended the call early (a refusal): its status explains why.
                await stream.MoveNext(cancellationToken).ConfigureAwait(false);
                throw;
            }

            // A refusal ends the call with its status here, before `submitted`.
            if (!await stream.MoveNext(cancellationToken).ConfigureAwait(false) || stream.Current.FrameCase != TaskFrame.FrameOneofCase.Submitted)
            {
                throw new IOException("the server ended the call without accepting or refusing the update");
            }

            if (bytes > 0)
            {
                Transferred("upload", bytes, started);
            }

            Submitted(reply);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next task on a SubmitAndPull call whose update was accepted; null when the pull part failed (node dropped,
    /// session revoked, ...): a plain pull then meets the same condition and the session loop handles it as for any.
    /// </summary>
    private async Task<Pulled?> NextOnAsync(AsyncDuplexStreamingCall<UpdateFrame, TaskFrame> call, CancellationToken cancellationToken)
    {
        using (call)
        {
            try
            {
                return await ReadTaskAsync(call.ResponseStream, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && ex.StatusCode != StatusCode.Cancelled)
            {
                return null;
            }
        }
    }

    /// <summary>Writes an update's frames (header, then each tensor's chunks and digest) and ends the request stream.</summary>
    private async Task<long> WriteUpdateAsync(IClientStreamWriter<UpdateFrame> requestStream, UpdateHeader header, IReadOnlyList<(string Record, string Name, Tensor Tensor)> tensors, CancellationToken cancellationToken)
    {
        long bytes = 0;
        await requestStream.WriteAsync(new UpdateFrame { Header = header }, cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < tensors.Count; i++)
        {
            foreach (var (chunk, digest) in TensorChunks.Split(tensors[i].Tensor, (uint)i, _options.ChunkSize))
            {
                if (chunk is not null && _cipher is { } cipher)
                {
                    var (ciphertext, nonce, tag) = cipher.Encrypt(chunk.Data.Span, Federate.Security.PayloadDirection.ToServer, chunk.TensorIndex, chunk.Offset);
                    chunk.Data = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(ciphertext);
                    chunk.Nonce = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(nonce);
                    chunk.Tag = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(tag);
                }

                var frame = chunk is not null ? new UpdateFrame { Chunk = chunk } : new UpdateFrame { Digest = digest };
                bytes += chunk?.Data.Length ?? 0;
                await requestStream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                FaultPoints.Reach("client-upload");
            }
        }

        await requestStream.CompleteAsync().ConfigureAwait(false);
        return bytes;
    }

    private void TaskReceived(MessageMetadata metadata, long bytes)
    {
        if (_logger.IsEnabled(_options.TaskLogLevel))
        {
            string kind = metadata.MessageType.ToString().ToLowerInvariant();
            ClientLog.TaskReceived(_logger, _options.TaskLogLevel, metadata.Round, kind, bytes);
        }
    }

    private void Submitted(Message reply)
    {
        if (reply.Error is null && _logger.IsEnabled(_options.TaskLogLevel))
        {
            string kind = reply.Metadata.MessageType.ToString().ToLowerInvariant();
            ClientLog.Submitted(_logger, _options.TaskLogLevel, reply.Metadata.Round, kind);
        }
    }

    private void Transferred(string direction, long bytes, long started)
    {
        ClientLog.Transferred(_logger, _options.TaskLogLevel, direction, bytes, started, "gRPC streams");
    }

    private async Task NotifyAsync(Notification wire, CancellationToken cancellationToken)
    {
        LifecycleNotification notification;
        try
        {
            notification = new LifecycleNotification(wire.NotificationType, wire.TrainingUuid, System.Text.Json.Nodes.JsonNode.Parse(wire.BodyJson) as System.Text.Json.Nodes.JsonObject ?? []);
        }
        catch (System.Text.Json.JsonException ex)
        {
            ClientLog.HandlerFailed(_logger, wire.NotificationType, $"malformed body: {ex.Message}");
            return;
        }

        try
        {
            await NotificationDispatcher.DispatchAsync(_handler, notification, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ClientLog.HandlerFailed(_logger, wire.NotificationType, ex.Message);
        }
    }

    private async Task QuitAsync(string reason)
    {
        if (NodeId == 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _client.QuitAsync(new QuitRequest { NodeId = NodeId, Reason = reason }, new CallOptions(Headers(), cancellationToken: timeout.Token)).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // Leaving is best effort; the server expires silent nodes anyway.
        }
    }

    /// <summary>Design 5, steps 1-3: hello with a fresh nonce, check the server's proof, sign the server's nonce.</summary>
    private async Task ChallengeAsync(RegisterRequest request, CancellationToken cancellationToken)
    {
        var identity = _identity!;
        var nonce = Federate.Security.ClientIdentity.NewNonce();
        var hello = await _client.HelloAsync(new HelloRequest { ProtocolVersion = FleetProtocol.Version, ClientNonce = Google.Protobuf.ByteString.CopyFrom(nonce) }, Unary(cancellationToken)).ConfigureAwait(false);
        if (identity.VerifyServer(nonce, hello.ServerCertificate.Span, hello.ServerCn, hello.Signature.Span, _time.GetUtcNow()) is { } problem)
        {
            throw new FleetClientException($"refusing the server: {problem}");
        }

        _serverCertificate = hello.ServerCertificate;
        request.ServerNonce = hello.ServerNonce;
        request.ClientCertificate = Google.Protobuf.ByteString.CopyFrom(identity.CertificateDer);
        request.ClientCn = identity.CommonName;
        request.Signature = Google.Protobuf.ByteString.CopyFrom(identity.SignRegistration(hello.ServerNonce.Span));
    }

    private void RenewToken(HeartbeatReply reply)
    {
        if (_identity is not null && !string.IsNullOrEmpty(reply.SessionToken))
        {
            _token = reply.SessionToken;
        }
    }

    private static bool IsTransient(RpcException ex) => ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.ResourceExhausted;

    private static string Describe(RpcException ex)
    {
        var detail = ex.Status.Detail;
        if (ex.Status.DebugException is { } inner)
        {
            detail = inner.InnerException?.Message ?? inner.Message;
        }

        return $"{ex.StatusCode}: {detail}";
    }


    /// <summary>What a pull brought: a task, the run's end, or neither (the poll time ran out).</summary>
    private readonly record struct Pulled(Message? Task, RunFinished? Finished);
}
