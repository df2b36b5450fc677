using System.Runtime.InteropServices;
using Federate.Core;
using Federate.Core.Diagnostics;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Grpc.Core;

namespace Federate.Server.Internal;

/// <summary>
/// The native fleet API. Every refusal is a gRPC status with a one-line message a person can act on; a refused
/// node's task fails as a value in the round, and everyone else carries on.
/// </summary>
internal sealed class FleetService(NodeRegistry registry, FleetGrid grid, FleetServerOptions options, FleetSecurity security, TransferEndpoint transfer, ILogger<FleetService> logger) : Fleet.FleetBase
{
    /// <summary>Non-train replies (evaluate metrics, queries) may carry at most this many tensor bytes unless the task sent more.</summary>
    private const long SmallReplyLimit = 64L << 20;

    public override Task<HelloReply> Hello(HelloRequest request, ServerCallContext context)
    {
        if (FleetProtocol.CheckVersion(request.ProtocolVersion, "client") is { } versionProblem)
        {
            throw Refuse(nameof(Hello), 0, StatusCode.FailedPrecondition, versionProblem);
        }

        if (security.Identity is not { } identity)
        {
            throw Refuse(nameof(Hello), 0, StatusCode.FailedPrecondition, "this is a development server without TLS or kits (--insecure); connect with --insecure");
        }

        security.CheckRegistrationRate(context);
        var hello = identity.Hello(request.ClientNonce.Span, out var problem) ?? throw Refuse(nameof(Hello), 0, StatusCode.InvalidArgument, problem!);
        return Task.FromResult(new HelloReply
        {
            ProtocolVersion = FleetProtocol.Version,
            ServerCertificate = Google.Protobuf.ByteString.CopyFrom(hello.Certificate),
            ServerCn = hello.CommonName,
            Signature = Google.Protobuf.ByteString.CopyFrom(hello.Signature),
            ServerNonce = Google.Protobuf.ByteString.CopyFrom(hello.ServerNonce),
        });
    }

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        if (FleetProtocol.CheckVersion(request.ProtocolVersion, "client") is { } problem)
        {
            throw Refuse(nameof(Register), 0, StatusCode.FailedPrecondition, problem);
        }

        VerifiedClient? client = null;
        if (security.Identity is { } identity)
        {
            security.CheckRegistrationRate(context);
            client = identity.VerifyRegistration(request.ServerNonce.Span, request.ClientCertificate.Span, request.ClientCn, request.Signature.Span, out var refused)
                ?? throw Refuse(nameof(Register), 0, StatusCode.Unauthenticated, refused!);
        }

        using (client?.Certificate)
        {
            var node = registry.Register(client?.CommonName ?? request.Name, request.PartitionId >= 0 ? request.PartitionId : null, ready: false);
            var reply = new RegisterReply
            {
                ProtocolVersion = FleetProtocol.Version,
                NodeId = node.Id,
                RunId = options.RunId,
                HeartbeatIntervalMs = (long)options.HeartbeatInterval.TotalMilliseconds,
                NodeExpiryMs = (long)options.EffectiveNodeExpiry.TotalMilliseconds,
                MaxChunkSize = FleetProtocol.MaxChunkSize,
                TransferPort = transfer.Port,
            };
            if (client is not null)
            {
                security.Bind(node, client.Serial);
                if (node.Revoked)
                {
                    throw Refuse(nameof(Register), node.Id, StatusCode.PermissionDenied, $"registration refused: the certificate of '{client.CommonName}' has been revoked");
                }

                var (token, _) = security.Identity!.Tokens.Issue(node.Id, client.CommonName, client.Serial, options.RunId);
                reply.SessionToken = token;
                reply.SessionTtlMs = (long)security.Identity.Tokens.Lifetime.TotalMilliseconds;
                if (security.EncryptPayloads)
                {
                    var key = PayloadCipher.NewKey();
                    security.SetCipher(node.Id, new PayloadCipher(key, node.Id));
                    var wrapped = PayloadCipher.Wrap(key, client.Certificate);
                    reply.WrappedPayloadKey = Google.Protobuf.ByteString.CopyFrom(wrapped);
                    reply.PayloadKeySignature = Google.Protobuf.ByteString.CopyFrom(security.Identity.SignPayloadKey(wrapped, request.ServerNonce.Span));
                }
            }

            return Task.FromResult(reply);
        }
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        var claims = security.Authorize(context, request.NodeId, options.RunId, nameof(Heartbeat));
        RequireNode(nameof(Heartbeat), request.NodeId);
        var reply = new HeartbeatReply { RunFinished = registry.IsFinished, RunId = options.RunId };
        if (claims is not null)
        {
            reply.SessionToken = security.Identity!.Tokens.Issue(claims.NodeId, claims.CommonName, claims.Serial, options.RunId).Token;
        }

        return Task.FromResult(reply);
    }

    public override Task<QuitReply> Quit(QuitRequest request, ServerCallContext context)
    {
        security.Authorize(context, request.NodeId, options.RunId, nameof(Quit));
        registry.Remove(request.NodeId, string.IsNullOrEmpty(request.Reason) ? "quit" : $"quit ({request.Reason})");
        return Task.FromResult(new QuitReply());
    }

    public override Task PullTask(PullTaskRequest request, IServerStreamWriter<TaskFrame> responseStream, ServerCallContext context)
        => PullAsync(request, responseStream, context);

    /// <summary>
    /// <see cref="SubmitUpdate"/> and then <see cref="PullTask"/> on one call: a client that replies and waits for its
    /// next task saves a call (and its round trip) per task. The update is checked and received exactly as by
    /// SubmitUpdate; a refusal ends the call with its status before the <c>submitted</c> frame.
    /// </summary>
    public override async Task SubmitAndPull(IAsyncStreamReader<UpdateFrame> requestStream, IServerStreamWriter<TaskFrame> responseStream, ServerCallContext context)
    {
        const string call = nameof(SubmitUpdate);
        var header = await ReadHeaderAsync(requestStream, context.CancellationToken).ConfigureAwait(false);
        var reply = await SubmitAsync(header, () => security.Authorize(context, header.NodeId, options.RunId, call), new GrpcUpdate(requestStream), context.CancellationToken).ConfigureAwait(false);
        await responseStream.WriteAsync(new TaskFrame { Submitted = reply }).ConfigureAwait(false);
        var pull = header.Pull ?? new PullTaskRequest();
        await PullAsync(
            new PullTaskRequest { ProtocolVersion = header.ProtocolVersion, NodeId = header.NodeId, WaitMs = pull.WaitMs, Bulk = pull.Bulk },
            responseStream,
            context).ConfigureAwait(false);
    }

    /// <summary>The first frame of an update's gRPC stream, which must be its header.</summary>
    private async Task<UpdateHeader> ReadHeaderAsync(IAsyncStreamReader<UpdateFrame> requestStream, CancellationToken cancellationToken)
    {
        if (!await requestStream.MoveNext(cancellationToken).ConfigureAwait(false) || requestStream.Current.FrameCase != UpdateFrame.FrameOneofCase.Header)
        {
            throw Refuse(nameof(SubmitUpdate), 0, StatusCode.InvalidArgument, "an update must start with an UpdateHeader frame");
        }

        return requestStream.Current.Header;
    }

    private async Task PullAsync(PullTaskRequest request, IServerStreamWriter<TaskFrame> responseStream, ServerCallContext context)
    {
        if (FleetProtocol.CheckVersion(request.ProtocolVersion, "client") is { } problem)
        {
            throw Refuse(nameof(PullTask), request.NodeId, StatusCode.FailedPrecondition, problem);
        }

        security.Authorize(context, request.NodeId, options.RunId, nameof(PullTask));
        var node = RequireNode(nameof(PullTask), request.NodeId);
        registry.MarkReady(node);
        var wait = request.WaitMs > 0 ? TimeSpan.FromMilliseconds(Math.Min(request.WaitMs, options.PollWait.TotalMilliseconds)) : options.PollWait;
        if (node.Sent is { AwaitingReply: true } unanswered && node.SentConnection != ConnectionId(context))
        {
            // The client pulls one task at a time and replies before it pulls again: pulling while a task sent to it
            // awaits its reply means the task was lost with a broken connection (the client reconnected with the same
            // node id, so on another connection). Sent again, or the round would wait for it until its timeout. A pull
            // on the connection the task went out on is a client waiting for its next task: it waits as usual.
            registry.Touch(node.Id);
            node.SentConnection = ConnectionId(context);
            await SendTaskAsync(node, unanswered, responseStream, request.Bulk && transfer.Port > 0, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        using var poll = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        poll.CancelAfter(wait);
        while (true)
        {
            Outbound item;
            try
            {
                if (!await node.Outbox.Reader.WaitToReadAsync(poll.Token).ConfigureAwait(false))
                {
                    throw node.Revoked
                        ? new RpcException(new Status(StatusCode.PermissionDenied, FleetSecurity.RevokedSession))
                        : new RpcException(new Status(StatusCode.NotFound, $"node {node.Id} is no longer registered; register again"));
                }

                if (!node.Outbox.Reader.TryRead(out item!))
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
            {
                return; // Poll time is up with nothing to send; the client polls again.
            }

            if (node.Revoked)
            {
                // Cut off while this stream waited: nothing queued for it is sent (a notification, a task).
                throw new RpcException(new Status(StatusCode.PermissionDenied, FleetSecurity.RevokedSession));
            }

            registry.Touch(node.Id);
            switch (item)
            {
                case OutboundNotification n:
                    await responseStream.WriteAsync(new TaskFrame
                    {
                        Notification = new Notification { NotificationType = n.Notification.NotificationType, TrainingUuid = n.Notification.TrainingUuid, BodyJson = n.Notification.Body.ToJsonString() },
                    }).ConfigureAwait(false);
                    break;
                case OutboundFinished f:
                    await responseStream.WriteAsync(new TaskFrame { Finished = new RunFinished { StopReason = f.StopReason, Detail = f.Detail } }).ConfigureAwait(false);
                    return;
                case OutboundTask t when !t.Task.IsClosed:
                    node.Sent = t.Task;
                    node.SentConnection = ConnectionId(context);
                    await SendTaskAsync(node, t.Task, responseStream, request.Bulk && transfer.Port > 0, context.CancellationToken).ConfigureAwait(false);
                    return;
            }
        }
    }

    public override async Task<SubmitReply> SubmitUpdate(IAsyncStreamReader<UpdateFrame> requestStream, ServerCallContext context)
    {
        const string call = nameof(SubmitUpdate);
        var header = await ReadHeaderAsync(requestStream, context.CancellationToken).ConfigureAwait(false);
        return await SubmitAsync(header, () => security.Authorize(context, header.NodeId, options.RunId, call), new GrpcUpdate(requestStream), context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>The bulk upload (POST on the transfer endpoint): the same checks as <see cref="SubmitUpdate"/> on a framed HTTP body.</summary>
    public async Task ReceiveUpdateAsync(HttpContext http)
    {
        const string call = nameof(SubmitUpdate);
        var body = http.Request.Body;
        var cancellationToken = http.RequestAborted;
        await AnswerAsync(http, async () =>
        {
            UpdateFrame? first;
            try
            {
                first = await BulkFrames.ReadAsync(body, UpdateFrame.Parser, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
            {
                throw Refuse(call, 0, StatusCode.InvalidArgument, ex.Message);
            }

            if (first is not { FrameCase: UpdateFrame.FrameOneofCase.Header })
            {
                throw Refuse(call, 0, StatusCode.InvalidArgument, "an update must start with an UpdateHeader frame");
            }

            var header = first.Header;
            await SubmitAsync(header, () => security.Authorize(SessionToken(http), header.NodeId, options.RunId, call), new BulkUpdate(body), cancellationToken).ConfigureAwait(false);
            http.Response.StatusCode = StatusCodes.Status204NoContent;
        }).ConfigureAwait(false);
    }

    private async Task<SubmitReply> SubmitAsync(UpdateHeader header, Action authorize, IUpdateBody body, CancellationToken cancellationToken)
    {
        const string call = nameof(SubmitUpdate);
        if (FleetProtocol.CheckVersion(header.ProtocolVersion, "client") is { } versionProblem)
        {
            throw Refuse(call, header.NodeId, StatusCode.FailedPrecondition, versionProblem);
        }

        authorize();
        RequireNode(call, header.NodeId);
        var replyTo = header.Metadata?.ReplyTo ?? "";
        var task = grid.FindTask(replyTo, out var closedRound);
        if (task is null)
        {
            throw closedRound is { } r
                ? Refuse(call, header.NodeId, StatusCode.FailedPrecondition, $"round {r} is finished")
                : Refuse(call, header.NodeId, StatusCode.NotFound, $"no task with id '{replyTo}'");
        }

        if (task.NodeId != header.NodeId)
        {
            throw Refuse(call, header.NodeId, StatusCode.PermissionDenied, $"task '{replyTo}' was sent to node {task.NodeId}, not node {header.NodeId}");
        }

        if (!task.TryBeginReceive(out var claimProblem))
        {
            throw Refuse(call, header.NodeId, StatusCode.FailedPrecondition, claimProblem);
        }

        try
        {
            // A task closed while its upload runs (round timeout, node dropped) stops the read at once, even when the
            // client has stopped sending.
            using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, task.ClosedToken);
            var arrival = await ReceiveAsync(task, header, body, closed.Token).ConfigureAwait(false);
            long received = arrival.Spool?.Length ?? 0; // read before Complete: the grid disposes the spool once folded
            if (!task.Complete(arrival))
            {
                throw Refuse(call, header.NodeId, StatusCode.FailedPrecondition, $"round {task.Round} is finished");
            }

            ServerLog.ReplyReceived(logger, task.Kind.ToString(), task.Round, task.NodeId, received);
            if (task.Kind == MessageType.Evaluate)
            {
                FaultPoints.Reach("evaluate", task.Round);
            }

            return new SubmitReply { Accepted = true };
        }
        catch (RpcException ex)
        {
            task.Fail(ex.StatusCode == StatusCode.InvalidArgument ? "invalid_update" : "refused", ex.Status.Detail);
            throw;
        }
        catch (OperationCanceledException) when (task.IsClosed && !cancellationToken.IsCancellationRequested)
        {
            throw Refuse(call, header.NodeId, StatusCode.FailedPrecondition, $"round {task.Round} is finished");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            task.Fail("dropped", $"the upload was interrupted: {ex.Message}");
            ServerLog.Refused(logger, call, header.NodeId, $"the upload was interrupted ({ex.GetType().Name}: {ex.Message})");
            throw new RpcException(new Status(StatusCode.Cancelled, "the upload was interrupted"));
        }
    }

    private async Task<Arrival> ReceiveAsync(PendingTask task, UpdateHeader header, IUpdateBody body, CancellationToken cancellationToken)
    {
        const string call = nameof(SubmitUpdate);
        var metadata = task.Instruction.Metadata;
        var replyMetadata = metadata with { SourceNodeId = task.NodeId, DestinationNodeId = 0, ReplyTo = metadata.MessageId, MessageId = metadata.MessageId + "/reply" };
        if (header.Error is { } error)
        {
            // The client could not handle the task: a failure of this round, reported as a value.
            await body.DrainAsync(cancellationToken).ConfigureAwait(false);
            return new Arrival(new Message(replyMetadata, new MessageError(string.IsNullOrEmpty(error.Code) ? "client_error" : error.Code, error.Reason)), null);
        }

        var content = new RecordDict();
        foreach (var c in header.Configs)
        {
            content.Configs[c.Name] = Mapping.FromProto(c);
        }

        foreach (var m in header.Metrics)
        {
            content.Metrics[m.Name] = Mapping.FromProto(m);
        }

        var layouts = header.Tensors;
        Tensor[]? tensors = null;
        bool spooled = task.Streaming;
        Federate.Core.Compression.UpdateDecoder? decoding = null;
        if (task.Kind == MessageType.Train)
        {
            // A compressed update (update compression) travels as encoded bytes; it is checked block by block as it arrives.
            if (Federate.Core.Compression.UpdateCompression.ReplyCodec(task.Instruction, content.Metrics.GetValueOrDefault(RecordNames.Metrics), out var codec) is { } codecProblem)
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, codecProblem);
            }

            decoding = codec is null ? null : new Federate.Core.Compression.UpdateDecoder(codec, [.. task.Tensors.Select(t => t.Tensor)], [.. task.Tensors.Select(t => t.Name)]);
            if (CompareLayouts(task, layouts, codec) is { } mismatch)
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, $"update does not match the global model: {mismatch}");
            }

            if (!content.Metrics.TryGetValue(RecordNames.Metrics, out var metrics) || !metrics.TryGetValue(RecordNames.NumExamples, out var n) || !(n > 0) || !double.IsFinite(n))
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, "update has no positive 'num_examples' metric");
            }
        }
        else
        {
            spooled = false;
        }

        var sizes = new List<(long, int)>(layouts.Count);
        long total = 0;
        foreach (var l in layouts)
        {
            if (Mapping.DescribeLayout(l, out var dtype, out var shape) is { } bad)
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, bad);
            }

            long bytes = Tensor.ElementCount(shape) * dtype.SizeOf();
            sizes.Add((bytes, dtype.SizeOf()));
            total += bytes;
        }

        if (task.Kind != MessageType.Train && total > Math.Max(SmallReplyLimit, task.Tensors.Sum(t => t.Tensor.ByteLength)))
        {
            throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, $"a {task.Kind.ToString().ToLowerInvariant()} reply may carry at most {SmallReplyLimit} tensor bytes, got {total}");
        }

        if (!spooled)
        {
            if (Mapping.TryAllocate(layouts, content, out tensors) is { } allocProblem)
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, allocProblem);
            }
        }

        if (spooled && !await grid.AdmitAsync(task, cancellationToken).ConfigureAwait(false))
        {
            throw Refuse(call, task.NodeId, StatusCode.FailedPrecondition, $"round {task.Round} is finished");
        }

        SpoolFile? spool = null;
        IUpdateFold? fold = null;
        UpdateReceipt? receipt = null;
        bool handedOver = false;
        try
        {
            spool = spooled ? grid.RentSpool(total) : null;

            // The update folded next goes straight into the running sum as its chunks arrive; the spool then only
            // serves to take already folded chunks back out if a later chunk turns out bad.
            fold = spooled ? grid.TryBeginDirectFold(task, content.Metrics[RecordNames.Metrics]) : null;
            using var verifier = new ChunkVerifier(sizes, FleetProtocol.MaxChunkSize);
            receipt = new UpdateReceipt(task, layouts, sizes, verifier, security.Cipher(task.NodeId), tensors, spool, fold, decoding, registry.Get(task.NodeId), problem => Refuse(call, task.NodeId, StatusCode.InvalidArgument, problem));
            try
            {
                await body.ReadAsync(receipt, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                grid.EndReading(task);
            }

            if (!verifier.IsComplete)
            {
                throw Refuse(call, task.NodeId, StatusCode.InvalidArgument, $"the update ended before tensor {verifier.CurrentTensor} of {layouts.Count} was complete");
            }

            var reply = new Message(replyMetadata, content);
            var arrival = new Arrival(reply, spool, fold);
            handedOver = true;
            return arrival;
        }
        finally
        {
            if (!handedOver)
            {
                if (fold is not null && spool is not null && receipt is { Folded: > 0 and var folded })
                {
                    Unfold(fold, spool, sizes, folded);
                    ServerLog.Unfolded(logger, task.Round, task.NodeId, folded);
                }

                spool?.Dispose();
                grid.Release(task);
            }

            task.DirectFold?.TrySetResult();
        }
    }

    /// <summary>Takes the first <paramref name="folded"/> bytes of an abandoned update back out of the running sum.</summary>
    private static void Unfold(IUpdateFold fold, SpoolFile spool, List<(long Bytes, int ElementSize)> sizes, long folded)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(FleetProtocol.DefaultChunkSize);
        try
        {
            spool.Rewind();
            for (int i = 0; i < sizes.Count && folded > 0; i++)
            {
                var (bytes, elem) = sizes[i];
                int step = FleetProtocol.DefaultChunkSize / elem * elem;
                for (long offset = 0; offset < bytes && folded > 0; offset += step)
                {
                    int n = (int)Math.Min(Math.Min(step, bytes - offset), folded);
                    var span = buffer.AsSpan(0, n);
                    spool.ReadExactly(span);
                    fold.UnfoldChunk(i, offset / elem, span);
                    folded -= n;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? CompareLayouts(PendingTask task, Google.Protobuf.Collections.RepeatedField<TensorLayout> layouts, Federate.Core.Compression.UpdateCodec? codec)
    {
        var expected = task.Tensors;
        if (layouts.Count != expected.Count)
        {
            return $"expected {expected.Count} tensors, got {layouts.Count}";
        }

        for (int i = 0; i < layouts.Count; i++)
        {
            var (record, name, tensor) = expected[i];
            var l = layouts[i];
            if (l.Record != record || l.Name != name)
            {
                return $"tensor {i} should be '{record}/{name}', got '{l.Record}/{l.Name}'";
            }

            var (wireType, wireShape) = Federate.Core.Compression.UpdateCompression.WireLayout(codec, tensor);
            if (!Mapping.TryFromProto(l.Dtype, out var dtype) || dtype != wireType || !l.Shape.SequenceEqual(wireShape))
            {
                return $"tensor '{name}' should be {(codec is null ? tensor : $"{wireType}[{string.Join(",", wireShape)}] ({codec.Name})")}, got {Mapping.Describe(l)}";
            }
        }

        return null;
    }

    private async Task SendTaskAsync(FleetNode node, PendingTask task, IServerStreamWriter<TaskFrame> stream, bool bulk, CancellationToken cancellationToken)
    {
        var header = new TaskHeader { Metadata = task.Instruction.Metadata.ToProto(), ChunkSize = options.ChunkSize, Bulk = bulk && task.Tensors.Sum(t => t.Tensor.ByteLength) > FleetProtocol.InlineTensorBytes };
        if (task.Instruction.Content is { } content)
        {
            Mapping.AddRecords(content, header.Configs, header.Metrics, header.Tensors);
        }

        // A task failed while its model is on the way (the node's certificate revoked, the node dropped, the round
        // over) stops sending at the next chunk: a revoked node receives no further byte of the model.
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, task.ClosedToken);
        cancellationToken = closed.Token;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            await stream.WriteAsync(new TaskFrame { Task = header }, cancellationToken).ConfigureAwait(false);
            if (header.Bulk)
            {
                return; // the client fetches the tensors from the transfer endpoint (ServeTensorsAsync)
            }

            var cipher = security.Cipher(task.NodeId);
            long bytes = 0;
            for (int i = 0; i < task.Tensors.Count; i++)
            {
                var tensor = task.Tensors[i].Tensor;
                foreach (var (chunk, digest) in TensorChunks.Split(tensor, (uint)i, options.ChunkSize, grid.ChunkDigests(tensor)))
                {
                    long plainLength = chunk?.Data.Length ?? 0;
                    if (chunk is not null && cipher is not null)
                    {
                        var (ciphertext, nonce, tag) = cipher.Encrypt(chunk.Data.Span, PayloadDirection.ToClient, chunk.TensorIndex, chunk.Offset);
                        chunk.Data = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(ciphertext);
                        chunk.Nonce = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(nonce);
                        chunk.Tag = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(tag);
                    }

                    var frame = chunk is not null ? new TaskFrame { Chunk = chunk } : new TaskFrame { Digest = digest };
                    cancellationToken.ThrowIfCancellationRequested();
                    await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                    bytes += plainLength;
                }
            }

            Sent(node, task, bytes);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            throw Undelivered(node, task, ex);
        }
    }

    private void Sent(FleetNode node, PendingTask task, long bytes)
    {
        ServerTelemetry.Sent(bytes);
        Interlocked.Add(ref node.BytesOut, bytes);
        ServerLog.TaskSent(logger, task.Kind.ToString(), task.Round, task.NodeId, bytes);
    }

    private Exception Undelivered(FleetNode node, PendingTask task, Exception ex)
    {
        if (!task.IsClosed && !node.Revoked && registry.Get(node.Id) is not null)
        {
            // The connection broke under the task. The client reconnects and pulls again on a new connection,
            // which sends this task again (see PullTask); a client that never comes back expires with its node,
            // which fails the task. Failing it here would cost the round this client for a network blip.
            ServerLog.DeliveryInterrupted(logger, task.Kind.ToString(), task.Round, task.NodeId);
            return ex;
        }

        task.Fail("dropped", $"the task could not be delivered: {ex.Message}");
        return node.Revoked ? new RpcException(new Status(StatusCode.PermissionDenied, FleetSecurity.RevokedSession)) : ex;
    }

    /// <summary>
    /// The bulk download (GET on the transfer endpoint): the tensors of a task sent with <c>bulk</c>, as chunk and
    /// digest frames, from the chunk boundary a resuming client names in <c>?from=TENSOR:OFFSET</c>.
    /// </summary>
    public async Task ServeTensorsAsync(HttpContext http, string messageId)
    {
        const string call = "GetTensors";
        await AnswerAsync(http, async () =>
        {
            long nodeId = long.TryParse(http.Request.Headers[BulkFrames.NodeHeader].ToString(), out var id) ? id : 0;
            security.Authorize(SessionToken(http), nodeId, options.RunId, call);
            var node = RequireNode(call, nodeId);
            var task = grid.FindTask(messageId, out var closedRound);
            if (task is null)
            {
                throw closedRound is { } r
                    ? Refuse(call, nodeId, StatusCode.FailedPrecondition, $"round {r} is finished")
                    : Refuse(call, nodeId, StatusCode.NotFound, $"no task with id '{messageId}'");
            }

            if (task.NodeId != nodeId)
            {
                throw Refuse(call, nodeId, StatusCode.PermissionDenied, $"task '{messageId}' was sent to node {task.NodeId}, not node {nodeId}");
            }

            if (task.IsClosed)
            {
                throw Refuse(call, nodeId, StatusCode.FailedPrecondition, $"round {task.Round} is finished");
            }

            var tensors = task.Tensors.Select(t => t.Tensor).ToList();
            int fromTensor = 0;
            long fromOffset = 0;
            if (http.Request.Query[BulkFrames.FromParameter].ToString() is { Length: > 0 } from
                && !(from.Split(':') is [var t, var o] && int.TryParse(t, out fromTensor) && long.TryParse(o, out fromOffset)
                    && fromTensor >= 0 && fromTensor <= tensors.Count && fromOffset >= 0
                    && (fromTensor == tensors.Count ? fromOffset == 0 : fromOffset <= tensors[fromTensor].ByteLength && fromOffset % TensorChunks.EffectiveChunkSize(tensors[fromTensor], options.ChunkSize) == 0)))
            {
                throw Refuse(call, nodeId, StatusCode.InvalidArgument, $"'{BulkFrames.FromParameter}={from}' is not a chunk boundary of this task's tensors (TENSOR:OFFSET)");
            }

            using var closed = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, task.ClosedToken);
            var cipher = security.Cipher(task.NodeId);
            http.Response.ContentType = "application/octet-stream";
            try
            {
                long bytes = await BulkFrames.WriteTensorsAsync(
                    http.Response.Body,
                    tensors,
                    options.ChunkSize,
                    fromTensor,
                    fromOffset,
                    static (chunk, digest) => chunk is not null ? new TaskFrame { Chunk = chunk } : new TaskFrame { Digest = digest },
                    grid.ChunkDigests,
                    cipher is null ? null : (data, index, offset) => cipher.Encrypt(data.Span, PayloadDirection.ToClient, index, offset),
                    null,
                    closed.Token).ConfigureAwait(false);
                Sent(node, task, bytes);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
            {
                // A broken download is not a failed task: the client resumes it from where it got to. A closed task
                // (revoked node, dropped node, round over) stops at the next chunk.
                if (task.IsClosed || node.Revoked)
                {
                    throw Undelivered(node, task, ex);
                }

                throw;
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Runs a bulk endpoint's work; a refusal becomes an HTTP status with the gRPC code and a one-line reason.</summary>
    private static async Task AnswerAsync(HttpContext http, Func<Task> work)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (RpcException ex) when (!http.Response.HasStarted)
        {
            http.Response.StatusCode = ex.StatusCode switch
            {
                StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
                StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
                StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
                StatusCode.NotFound => StatusCodes.Status404NotFound,
                StatusCode.FailedPrecondition => StatusCodes.Status409Conflict,
                StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
                _ => StatusCodes.Status500InternalServerError,
            };
            http.Response.Headers[BulkFrames.StatusHeader] = ((int)ex.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync(ex.Status.Detail, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (http.Response.HasStarted && ex is RpcException or IOException or OperationCanceledException or InvalidOperationException)
        {
            http.Abort(); // the body was under way: cut it, so the client sees an incomplete transfer
        }
    }

    private static string? SessionToken(HttpContext http) =>
        http.Request.Headers[Federate.Security.SessionTokens.Header].ToString() is { Length: > 0 } token ? token : null;

    private FleetNode RequireNode(string call, long nodeId) =>
        registry.Touch(nodeId) ?? throw Refuse(call, nodeId, StatusCode.NotFound, $"node {nodeId} is not registered (it left or stopped sending heartbeats); register again");

    private RpcException Refuse(string call, long nodeId, StatusCode code, string reason)
    {
        if (security.ShouldLogRefusal())
        {
            ServerLog.Refused(logger, call, nodeId, reason);
        }

        return new RpcException(new Status(code, reason));
    }

    private static string? ConnectionId(ServerCallContext context) => context.GetHttpContext()?.Connection.Id;

}
