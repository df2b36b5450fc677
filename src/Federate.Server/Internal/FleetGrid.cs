using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Federate.Core;

namespace Federate.Server.Internal;

/// <summary>
/// The gRPC fleet's <see cref="IGrid"/>: queues each instruction in its node's outbox (delivered by the node's
/// PullTask long poll), collects replies from SubmitUpdate until all arrived or the round timeout, and yields them
/// in a fixed order: by the partition id the node reported, then node id, so aggregation repeats exactly (and
/// matches simulation, which folds in partition order). Train updates for a streaming aggregator are folded one at a
/// time in that order, validated chunk by chunk: the update whose turn it is folds straight from its incoming chunks
/// (a spool file keeps them only to undo a refused tail); one arriving early is spooled and folded when its turn
/// comes. Server memory stays O(model) whatever the number of clients; the driver then sees replies that carry only
/// metrics. Replies that arrive whole (Flower clients, which have no partition id and so come after native nodes, in
/// node id order) complete their task with the full reply and are yielded in the same fold order for the driver's
/// aggregator to fold.
/// </summary>
internal sealed class FleetGrid : IGrid, IDisposable
{
    private readonly NodeRegistry _registry;
    private readonly NotificationHub _hub;
    private readonly FleetServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, PendingTask> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _closed = new(StringComparer.Ordinal);

    /// <summary>Closed tasks are remembered (to tell a late reply its round is finished) for this many rounds.</summary>
    private const int ClosedRoundsKept = 16;
    private readonly Lock _admitLock = new();
    private List<PendingTask>? _foldOrder;
    private IStreamingTrainAggregator? _streamingAggregator;
    private int _foldCursor;
    private long _admittedBytes;
    private int _reading;
    private TaskCompletionSource _admitChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FleetGrid(NodeRegistry registry, NotificationHub hub, FleetServerOptions options, TimeProvider time, ILogger logger)
    {
        (_registry, _hub, _options, _time, _logger) = (registry, hub, options, time, logger);
        _registry.NodeRemoved += OnNodeRemoved;
        _spools = new SpoolPool(() => SpoolDirectory, capacity: 2);
    }

    // Two idle files: the update folded in turn and one arriving early, the usual case, reuse their pages every round.
    private readonly SpoolPool _spools;

    /// <summary>A spool for a streamed update of <paramref name="bytes"/> tensor bytes (disposing it hands a file back for reuse).</summary>
    public SpoolFile RentSpool(long bytes) => _spools.Rent(bytes);

    public void Dispose() => _spools.Dispose();

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Tensor, Lazy<byte[][]>> _digests = [];

    /// <summary>Chunk digests of a tensor sent to nodes, computed once per tensor (every node gets the same global model).</summary>
    public byte[][] ChunkDigests(Tensor tensor) =>
        _digests.GetValue(tensor, t => new Lazy<byte[][]>(() => Protocol.TensorChunks.ComputeChunkDigests(t, _options.ChunkSize))).Value;

    public string SpoolDirectory => _options.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "federate-spool");

    public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
        _registry.WaitForAsync(minimum, cancellationToken);

    /// <summary>The open task with this id, or null with the round of a closed one (null when never seen).</summary>
    /// <summary>
    /// Waits until a streamed update may be read and spooled: updates received but not yet folded take at most
    /// <see cref="FleetServerOptions.MaxSpoolBytes"/> of disk (at least one is always admitted), and at most
    /// <see cref="FleetServerOptions.MaxConcurrentUploads"/> are read at once (their chunk buffers are the server's
    /// receive memory), except that the update folded next is always admitted, so the round cannot deadlock. Waiting
    /// uploads are not read, so flow control holds the client back. <see cref="EndReading"/> frees the reading slot.
    /// Returns false when the task was closed meanwhile.
    /// </summary>
    public async Task<bool> AdmitAsync(PendingTask task, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_admitLock)
            {
                if (task.Arrived.IsCompleted || task.IsClosed)
                {
                    return false;
                }

                bool next = _foldOrder is { } order && _foldCursor < order.Count && ReferenceEquals(order[_foldCursor], task);
                long size = task.Tensors.Sum(t => t.Tensor.ByteLength);
                bool disk = _admittedBytes == 0 || _admittedBytes + size <= _options.MaxSpoolBytes;
                if (next || (disk && _reading < _options.MaxConcurrentUploads))
                {
                    _admittedBytes += size;
                    task.Admitted = true;
                    task.Reading = true;
                    _reading++;
                    return true;
                }

                changed = _admitChanged.Task;
            }

            await Task.WhenAny(changed, task.Arrived).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts folding <paramref name="task"/>'s update straight from its chunks when it is the update folded next
    /// (every earlier one in the fold order is settled); returns null otherwise (it is then folded from its spool).
    /// </summary>
    public IUpdateFold? TryBeginDirectFold(PendingTask task, MetricRecord metrics)
    {
        lock (_admitLock)
        {
            if (_streamingAggregator is not { } aggregator || _foldOrder is not { } order || _foldCursor >= order.Count || !ReferenceEquals(order[_foldCursor], task) || task.IsClosed)
            {
                return null;
            }

            task.DirectFold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return aggregator.BeginUpdate(task.NodeId, metrics);
        }
    }

    /// <summary>Frees the reading slot of a task once its upload was read, or failed (idempotent).</summary>
    public void EndReading(PendingTask task)
    {
        lock (_admitLock)
        {
            if (task.Reading)
            {
                task.Reading = false;
                _reading--;
                SignalAdmission();
            }
        }
    }

    /// <summary>Frees the spool slot (and the reading slot, if still held) of a task (idempotent).</summary>
    public void Release(PendingTask task)
    {
        lock (_admitLock)
        {
            if (task.Reading)
            {
                task.Reading = false;
                _reading--;
            }

            if (task.Admitted)
            {
                task.Admitted = false;
                _admittedBytes -= task.Tensors.Sum(t => t.Tensor.ByteLength);
            }

            SignalAdmission();
        }
    }

    private void SignalAdmission()
    {
        var old = _admitChanged;
        _admitChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    public PendingTask? FindTask(string messageId, out int? closedRound)
    {
        closedRound = _closed.TryGetValue(messageId, out var r) ? r : null;
        return _tasks.GetValueOrDefault(messageId);
    }

    public IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, CancellationToken cancellationToken) =>
        ExchangeAsync(instructions, null, timeout, cancellationToken);

    /// <summary>
    /// Sends train instructions and folds every successful reply into <paramref name="aggregator"/>: chunk by chunk as
    /// updates stream in when it can stream (unless the inspector keeps client weights, which needs whole replies),
    /// whole otherwise.
    /// </summary>
    public IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, ITrainAggregator aggregator, TimeSpan timeout, CancellationToken cancellationToken) =>
        ExchangeAsync(instructions, aggregator ?? throw new ArgumentNullException(nameof(aggregator)), timeout, cancellationToken);

    private async IAsyncEnumerable<Message> ExchangeAsync(IReadOnlyList<Message> instructions, ITrainAggregator? target, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (instructions.Count == 0)
        {
            yield break;
        }

        var first = instructions[0].Metadata;
        IStreamingTrainAggregator? aggregator = first.MessageType == MessageType.Train && _options.Inspector?.KeepClientWeights != true
            && target is IStreamingTrainAggregator { CanStream: true } s ? s : null;
        if (instructions[0].Content?.Arrays.GetValueOrDefault(RecordNames.Model) is { } global)
        {
            if (first.MessageType == MessageType.Train)
            {
                _hub.Publish(NotificationTypes.UpdateRoundStart, first.Round, global);
            }
            else if (first.MessageType == MessageType.Evaluate)
            {
                _hub.Publish(NotificationTypes.ModelTestRound, first.Round, global);
            }
        }

        var pending = new List<PendingTask>(instructions.Count);
        for (int i = 0; i < instructions.Count; i++)
        {
            var task = new PendingTask(instructions[i], i, aggregator is not null);
            _tasks[task.MessageId] = task;
            pending.Add(task);
        }

        foreach (var task in pending)
        {
            var node = _registry.Get(task.NodeId);
            if (node is { Revoked: true })
            {
                task.Fail("revoked", $"the certificate of '{node.Name}' was revoked");
            }
            else if (node is null || !node.Outbox.Writer.TryWrite(new OutboundTask(task)))
            {
                task.Fail("dropped", $"node {task.NodeId} is not connected");
            }
        }

        var ordered = pending
            .OrderBy(t => _registry.Get(t.NodeId)?.PartitionId ?? int.MaxValue)
            .ThenBy(t => t.NodeId)
            .ToList();

        using var deadline = timeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(timeout, _time);
        var seconds = timeout.TotalSeconds;
        using var onDeadline = deadline.Token.Register(() =>
        {
            foreach (var t in pending)
            {
                t.Fail("timeout", $"no reply before the round timeout ({seconds:0.###} s)");
            }
        });

        if (aggregator is not null)
        {
            // The previous global model became garbage when the last round completed; collect it before this round
            // allocates its running sum, which then takes its memory: a model is never resident three times, and the
            // resident set does not grow round after round (for models of 8 MiB or more).
            Federate.Core.Aggregation.ModelBuffers.Reclaim(pending[0].Tensors.Sum(t => t.Tensor.ByteLength));

            lock (_admitLock)
            {
                _foldOrder = ordered;
                _streamingAggregator = aggregator;
                _foldCursor = 0;
                SignalAdmission();
            }
        }

        try
        {
            for (int i = 0; i < ordered.Count; i++)
            {
                var task = ordered[i];
                if (aggregator is not null)
                {
                    lock (_admitLock)
                    {
                        _foldCursor = i;
                        SignalAdmission();
                    }
                }

                var arrival = await task.Arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (task.DirectFold is { } direct)
                {
                    // A fold straight from the chunks may still be running (or undoing) after a timeout or drop;
                    // no other update may touch the running sum until it ended.
                    await direct.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                var reply = arrival.Reply;
                if (arrival.Folded is { } folded)
                {
                    folded.Commit();
                    arrival.Spool?.Dispose();
                    Release(task);
                }
                else if (arrival.Spool is { } spool)
                {
                    using (spool)
                    {
                        reply = await Task.Run(() => FoldFromSpool(aggregator!, task, arrival.Reply, spool), cancellationToken).ConfigureAwait(false);
                    }

                    Release(task);
                }
                else if (target is not null)
                {
                    // A reply that arrived whole (a Flower client, or streaming is off): folded as it is.
                    reply = Federate.Core.Running.GridFolding.Fold(reply, target);
                }

                if (reply.Error is { } error)
                {
                    ServerLog.NodeFailed(_logger, task.Round, task.NodeId, error.Code, error.Reason);
                }

                yield return reply;
            }
        }
        finally
        {
            if (aggregator is not null)
            {
                lock (_admitLock)
                {
                    _foldOrder = null;
                    _streamingAggregator = null;
                }
            }

            foreach (var task in pending)
            {
                task.Close($"round {task.Round} is finished");
                _closed[task.MessageId] = task.Round;
                _tasks.TryRemove(task.MessageId, out _);
                if (task.Arrived.IsCompletedSuccessfully && task.Arrived.Result.Spool is { } leftover)
                {
                    leftover.Dispose();
                }

                Release(task);
                task.Forget();
            }

            // Forget tasks closed long ago: the server keeps serving any number of rounds in bounded memory.
            int oldest = first.Round - ClosedRoundsKept;
            foreach (var (id, round) in _closed)
            {
                if (round < oldest)
                {
                    _closed.TryRemove(id, out _);
                }
            }

            // The caller may keep this finished iterator until its next phase; it must not keep the model alive.
            pending.Clear();
            ordered.Clear();
            instructions = [];
            aggregator = null;
            target = null;
        }
    }

    private Message FoldFromSpool(IStreamingTrainAggregator aggregator, PendingTask task, Message reply, SpoolFile spool)
    {
        var metrics = reply.Content!.Metrics[RecordNames.Metrics];
        IUpdateFold fold;
        try
        {
            fold = aggregator.BeginUpdate(task.NodeId, metrics);
        }
        catch (ArgumentException ex)
        {
            return task.Instruction.CreateErrorReply(new MessageError("invalid_update", ex.Message));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(_options.ChunkSize);
        var sizes = WireSizes(task, reply);
        long folded = 0;
        try
        {
            spool.Rewind();
            for (int i = 0; i < sizes.Length; i++)
            {
                var (length, elem) = sizes[i];
                int step = Math.Max(elem, _options.ChunkSize / elem * elem);
                for (long offset = 0; offset < length; offset += step)
                {
                    int n = (int)Math.Min(step, length - offset);
                    var span = buffer.AsSpan(0, n);
                    spool.ReadExactly(span);
                    fold.FoldChunk(i, offset / elem, span);
                    folded += n;
                    Federate.Core.Diagnostics.FaultPoints.Reach("fold", task.Round);
                }
            }
        }
        catch (IOException ex)
        {
            Unfold(fold, sizes, spool, folded, buffer);
            return task.Instruction.CreateErrorReply(new MessageError("server_error", $"could not read the spooled update: {ex.Message}"));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        fold.Commit();
        return reply;
    }

    private void Unfold(IUpdateFold fold, (long Length, int Element)[] sizes, SpoolFile spool, long folded, byte[] buffer)
    {
        try
        {
            spool.Rewind();
            for (int i = 0; i < sizes.Length && folded > 0; i++)
            {
                var (length, elem) = sizes[i];
                int step = Math.Max(elem, _options.ChunkSize / elem * elem);
                for (long offset = 0; offset < length && folded > 0; offset += step)
                {
                    int n = (int)Math.Min(Math.Min(step, length - offset), folded);
                    var span = buffer.AsSpan(0, n);
                    spool.ReadExactly(span);
                    fold.UnfoldChunk(i, offset / elem, span);
                    folded -= n;
                }
            }
        }
        catch (IOException)
        {
            // The spool is unreadable; the running sum keeps the partial update. Nothing more can be done.
        }
    }

    /// <summary>Byte length and element size of each tensor of a spooled update as it travelled (a compressed one as bytes).</summary>
    private static (long Length, int Element)[] WireSizes(PendingTask task, Message reply)
    {
        _ = Federate.Core.Compression.UpdateCompression.ReplyCodec(task.Instruction, reply.Content?.Metrics.GetValueOrDefault(RecordNames.Metrics), out var codec);
        return [.. task.Tensors.Select(t => Federate.Core.Compression.UpdateCompression.WireLayout(codec, t.Tensor) is var (dtype, shape) ? (Tensor.ElementCount(shape) * dtype.SizeOf(), dtype.SizeOf()) : default)];
    }

    private void OnNodeRemoved(long nodeId, string reason) => FailTasksOf(nodeId, "dropped", $"node {nodeId} left: {reason}");

    /// <summary>
    /// Fails every open task of a node at once with <paramref name="code"/> (its round goes on without it) and stops
    /// its transfers: uploads and task downloads watch the task's closed token.
    /// </summary>
    public void FailTasksOf(long nodeId, string code, string reason)
    {
        foreach (var task in _tasks.Values)
        {
            if (task.NodeId == nodeId)
            {
                task.Fail(code, reason);
            }
        }
    }
}
