namespace Federate.Core.Running;

/// <summary>
/// The initial model when only the clients know it (Flower's behaviour when a strategy has no initial parameters):
/// the first connected node is asked for its parameters with a query message; when it fails, the next one is asked.
/// </summary>
public static class InitialParameters
{
    /// <summary>
    /// Waits for a node, asks it for its parameters and returns them. Tries each connected node once, in node order.
    /// </summary>
    /// <exception cref="InvalidOperationException">No node answered with parameters (one-line reason).</exception>
    public static async Task<ArrayRecord> FromClientAsync(IGrid grid, string runId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var asked = new HashSet<long>();
        string last = "no node answered";
        while (true)
        {
            var nodes = await grid.WaitForNodesAsync(1, cancellationToken).ConfigureAwait(false);
            var node = nodes.FirstOrDefault(n => !asked.Contains(n.NodeId));
            if (node is null)
            {
                // Every connected node was asked already: wait for one more to connect.
                nodes = await grid.WaitForNodesAsync(nodes.Count + 1, cancellationToken).ConfigureAwait(false);
                node = nodes.First(n => !asked.Contains(n.NodeId));
            }

            asked.Add(node.NodeId);
            var content = new RecordDict();
            content.Configs[RecordNames.Config] = new ConfigRecord();
            var query = new Message(
                new MessageMetadata
                {
                    RunId = runId,
                    Round = 0,
                    MessageType = MessageType.Query,
                    DestinationNodeId = node.NodeId,
                    MessageId = $"{runId}/0/get_parameters/{node.NodeId}",
                },
                content);
            await foreach (var reply in grid.SendAndReceiveAsync([query], timeout, cancellationToken).ConfigureAwait(false))
            {
                if (reply.Content?.Arrays.GetValueOrDefault(RecordNames.Model) is { Count: > 0 } model)
                {
                    return model;
                }

                last = reply.Error is { } e ? $"{e.Code}: {e.Reason}" : "the reply carried no parameters";
            }

            if (asked.Count >= 8)
            {
                throw new InvalidOperationException($"no client gave initial parameters (asked {asked.Count}; last: {last})");
            }
        }
    }

    /// <summary>
    /// <see cref="RunPlan.Initial"/> that asks one node for the initial parameters (as Flower's server does when only
    /// the clients know the model). <paramref name="log"/> gets one line when they arrive. Fails with
    /// <see cref="InvalidOperationException"/> and a one-line reason when no node gives them or the run is stopped first.
    /// </summary>
    public static Func<IGrid, CancellationToken, ValueTask<ArrayRecord>> FromClient(Func<string> runId, TimeSpan timeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return async (grid, cancellationToken) =>
        {
            try
            {
                var model = await FromClientAsync(grid, runId(), timeout, cancellationToken).ConfigureAwait(false);
                log?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"initial parameters from a client: {model.Count} tensors, {model.ElementCount} values"));
                return model;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new InvalidOperationException("stopped by the operator before a client gave the initial parameters");
            }
        };
    }
}
