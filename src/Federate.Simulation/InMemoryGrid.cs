using System.Runtime.CompilerServices;
using Federate.Core;

namespace Federate.Simulation;

/// <summary>
/// A grid of virtual clients in this process. Client apps are created lazily, per message, from their partition
/// id by a factory, run in parallel (at most <see cref="SimulationOptions.Parallelism"/> at a time, on as many worker
/// threads, each running one client after another), and their replies are yielded in instruction order so that aggregation, and so the model, is
/// byte-identical for the same seed whatever the thread timing.
/// </summary>
public sealed class InMemoryGrid : IGrid
{
    private readonly Func<int, IClientApp> _clientFactory;
    private readonly SimulationOptions _options;
    private readonly NodeInfo[] _nodes;

    /// <summary>Creates a grid of <see cref="SimulationOptions.Clients"/> nodes; node i+1 runs partition i.</summary>
    public InMemoryGrid(Func<int, IClientApp> clientFactory, SimulationOptions options)
    {
        _clientFactory = clientFactory ?? throw new ArgumentNullException(nameof(clientFactory));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _nodes = [.. Enumerable.Range(0, options.Clients).Select(i => new NodeInfo(i + 1, $"client-{i}", i))];
    }

    /// <summary>The virtual nodes.</summary>
    public IReadOnlyList<NodeInfo> Nodes => _nodes;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken)
    {
        if (minimum > _nodes.Length)
        {
            throw new InvalidOperationException($"the run needs {minimum} clients but the simulation has {_nodes.Length}");
        }

        return ValueTask.FromResult<IReadOnlyList<NodeInfo>>(_nodes);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        // Replies that need no client (unknown node, injected drop) are known at once; the others are computed by
        // at most Parallelism worker threads, each running one client after another (a thread per client would
        // cost a thread start per client and message: most of a round's time with a thousand clients).
        var replies = new TaskCompletionSource<Message>[instructions.Count];
        var work = new List<(int Index, NodeInfo Node)>(instructions.Count);
        for (int i = 0; i < instructions.Count; i++)
        {
            replies[i] = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Immediate(instructions[i], out var node) is { } reply)
            {
                replies[i].SetResult(reply);
            }
            else
            {
                work.Add((i, node!));
            }
        }

        int next = -1;
        var workers = new Task[Math.Min(_options.Parallelism, work.Count)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Factory.StartNew(
                () =>
                {
                    int k;
                    while ((k = Interlocked.Increment(ref next)) < work.Count)
                    {
                        var (index, node) = work[k];
                        Complete(replies[index], node, instructions[index], deadline.Token, cancellationToken);
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        try
        {
            foreach (var reply in replies)
            {
                yield return await reply.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            // Stopped early (the caller's cancellation or an abandoned enumeration): the clients still queued are
            // not run, and the deadline source outlives every worker that uses it.
            Interlocked.Exchange(ref next, int.MaxValue / 2);
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
    }

    /// <summary>The reply of an instruction that runs no client (unknown node, injected drop), or null with its node.</summary>
    private Message? Immediate(Message instruction, out NodeInfo? node)
    {
        var meta = instruction.Metadata;
        long id = meta.DestinationNodeId;
        node = id >= 1 && id <= _nodes.Length ? _nodes[id - 1] : null;
        if (node is null)
        {
            return instruction.CreateErrorReply(new MessageError("unknown_node", $"no node with id {meta.DestinationNodeId} in the simulation"));
        }

        if (_options.DropRate > 0)
        {
            var draw = new Random(Seeds.Derive(_options.Seed, meta.Round, node.NodeId, "drop-" + meta.MessageType)).NextDouble();
            if (draw < _options.DropRate)
            {
                return instruction.CreateErrorReply(new MessageError("dropped", $"injected failure (--drop-rate {_options.DropRate})"));
            }
        }

        return null;
    }

    private void Complete(TaskCompletionSource<Message> reply, NodeInfo node, Message instruction, CancellationToken deadline, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            reply.SetCanceled(cancellationToken);
            return;
        }

        try
        {
            deadline.ThrowIfCancellationRequested();
            reply.SetResult(RunClient(node, instruction, deadline));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reply.SetResult(instruction.CreateErrorReply(new MessageError("timeout", "the client did not reply before the round timeout")));
        }
        catch (OperationCanceledException)
        {
            reply.SetCanceled(cancellationToken);
        }
    }

    private Message RunClient(NodeInfo node, Message instruction, CancellationToken cancellationToken)
    {
        try
        {
            var app = _clientFactory(node.PartitionId!.Value);
            var reply = app.HandleAsync(instruction, cancellationToken).AsTask().GetAwaiter().GetResult();
            return reply;
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception ex)
        {
            return instruction.CreateErrorReply(new MessageError("client_error", ex.Message));
        }
    }
}
