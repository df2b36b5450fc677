using System.Runtime.CompilerServices;
using Federate.Core;

namespace Federate.Simulation;

/// <summary>
/// A grid of virtual clients in this process. Client apps are created lazily, per message, from their partition
/// id by a factory, run in parallel (one compute thread each, at most <see cref="SimulationOptions.Parallelism"/>
/// at a time), and their replies are yielded in instruction order so that aggregation, and so the model, is
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
        using var gate = new SemaphoreSlim(_options.Parallelism);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        var tasks = new Task<Message>[instructions.Count];
        for (int i = 0; i < instructions.Count; i++)
        {
            tasks[i] = RunOneAsync(instructions[i], gate, deadline.Token, cancellationToken);
        }

        foreach (var task in tasks)
        {
            yield return await task.ConfigureAwait(false);
        }
    }

    private async Task<Message> RunOneAsync(Message instruction, SemaphoreSlim gate, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var meta = instruction.Metadata;
        var node = _nodes.FirstOrDefault(n => n.NodeId == meta.DestinationNodeId);
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

        try
        {
            await gate.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return instruction.CreateErrorReply(new MessageError("timeout", "the client did not reply before the round timeout"));
        }

        try
        {
            // One dedicated compute thread per running client.
            return await Task.Factory.StartNew(
                () => RunClient(node, instruction, deadline),
                deadline,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return instruction.CreateErrorReply(new MessageError("timeout", "the client did not reply before the round timeout"));
        }
        finally
        {
            gate.Release();
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
