using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Flower;
using Federate.Server.Internal;
using Grpc.Core;

namespace Federate.Server.Flower;

/// <summary>
/// Serves Flower's <c>FlowerService/Join</c> stream: each Flower client becomes a node of the same grid as native
/// clients (registered without a partition id, so it folds after them, in registration order). The Join handler is
/// the only code touching its stream: it takes the node's outbox items one at a time, sends the instruction as a
/// <c>ServerMessage</c>, reads exactly one <c>ClientMessage</c> and hands the whole reply to the grid. At the end of
/// the run it sends <c>reconnect_ins {}</c> and waits (briefly) for the client to hang up.
/// </summary>
internal sealed class FlowerJoinService(NodeRegistry registry, FleetServerOptions options, ILoggerFactory loggerFactory) : FlowerService.FlowerServiceBase
{
    /// <summary>How long a client may take to hang up after <c>reconnect_ins</c> (Flower clients reset the stream at once).</summary>
    private static readonly TimeSpan HangUpWait = TimeSpan.FromSeconds(3);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Federate.Server.Flower");

    public override async Task Join(IAsyncStreamReader<ClientMessage> requestStream, IServerStreamWriter<ServerMessage> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var node = registry.Register($"flower@{context.Peer}", partitionId: null, expiresWhenSilent: false);
        string reason = "the Flower client closed its stream";
        try
        {
            await foreach (var item in node.Outbox.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                switch (item)
                {
                    case OutboundTask { Task: var task }:
                        if (!await HandleTaskAsync(node, task, requestStream, responseStream, ct).ConfigureAwait(false))
                        {
                            return;
                        }

                        break;
                    case OutboundFinished:
                        await responseStream.WriteAsync(FlowerMapping.Reconnect(), ct).ConfigureAwait(false);
                        reason = "the run finished";
                        await WaitForHangUpAsync(requestStream, ct).ConfigureAwait(false);
                        return;
                    default:
                        // Lifecycle notifications have no Flower equivalent.
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            reason = "the Flower client's stream was cancelled (client gone)";
        }
        catch (IOException ex)
        {
            reason = $"the Flower client's stream broke: {ex.Message}";
        }
        catch (RpcException ex)
        {
            reason = $"the Flower client's stream failed: {ex.Status.Detail}";
        }
        catch (InvalidOperationException ex)
        {
            reason = $"the Flower client's stream failed: {ex.Message}";
        }
        finally
        {
            registry.Remove(node.Id, reason);
        }
    }

    /// <summary>Sends one instruction and settles its task with the answer; false when the stream is over.</summary>
    private async Task<bool> HandleTaskAsync(FleetNode node, PendingTask task, IAsyncStreamReader<ClientMessage> requests, IServerStreamWriter<ServerMessage> responses, CancellationToken ct)
    {
        var instruction = task.Instruction;
        if (task.IsClosed)
        {
            return true;
        }

        ServerMessage message;
        try
        {
            message = FlowerMapping.ToServerMessage(FlowerInstructions.ForFlower(instruction, options.FlowerOmittedConfigKeys));
        }
        catch (NotSupportedException ex)
        {
            task.Fail("unsupported", ex.Message);
            return true;
        }

        await responses.WriteAsync(message, ct).ConfigureAwait(false);
        if (!await requests.MoveNext(ct).ConfigureAwait(false))
        {
            task.Fail("dropped", $"node {node.Id} closed its Flower stream before answering");
            return false;
        }

        var reply = FlowerMapping.FromClientMessage(instruction, requests.Current);
        if (reply.Error is { } error)
        {
            FlowerLog.BadReply(_logger, node.Id, error.Reason);
        }

        if (!SubmitWhole(task, reply))
        {
            FlowerLog.LateReply(_logger, node.Id, task.Round);
        }

        return true;
    }

    /// <summary>
    /// The grid's path for a reply that arrives whole (not streamed in chunks): the grid yields it in fold order and
    /// the run driver folds it like a simulated reply. False when the task was closed meanwhile (timeout).
    /// </summary>
    private static bool SubmitWhole(PendingTask task, Message reply) =>
        task.TryBeginReceive(out _) && task.Complete(new Arrival(reply, null));

    private static async Task WaitForHangUpAsync(IAsyncStreamReader<ClientMessage> requests, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(HangUpWait);
        try
        {
            // A Flower client resets the stream instead of sending its disconnect_res; either ends this loop.
            while (await requests.MoveNext(wait.Token).ConfigureAwait(false))
            {
            }
        }
        catch (OperationCanceledException)
        {
            // Silence or a reset: the normal end.
        }
        catch (IOException)
        {
            // "The client reset the request stream": the normal end.
        }
        catch (RpcException)
        {
            // The call was cancelled by the peer: the normal end.
        }
    }
}
