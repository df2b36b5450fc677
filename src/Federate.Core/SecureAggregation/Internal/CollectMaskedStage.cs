namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Stage 3: every node that shared its secrets gets the strategy's train instruction (model and config) plus the
/// encrypted shares its neighbours addressed to it; it trains, and answers with its weighted update quantized and
/// masked (pairwise masks with the neighbours that shared, and its self mask). The replies are folded into one
/// running sum modulo the modulus as they arrive.
/// </summary>
internal sealed class CollectMaskedStage(SecAggPlusSettings settings) : SecAggStage(settings)
{
    public override string Name => SecAggNames.CollectMasked;

    protected override async ValueTask RunAsync(RoundExecution round, SecAggRoundState? current, CancellationToken cancellationToken)
    {
        var state = Require(current);
        var instructions = new List<Message>(state.Shares.Count);
        foreach (var node in state.Shares.Keys.Order())
        {
            // The neighbours that shared with this node; the share each addressed to it sits at its place in their list.
            var senders = state.Live[node].Where(state.Shares.ContainsKey).ToArray();
            state.Senders[node] = senders;
            var shares = senders.SelectMany(v => state.Shares[v][Array.IndexOf(state.Live[v], node)]).ToArray();
            var train = state.Train[node].Content!;
            var content = new RecordDict();
            foreach (var (key, value) in train.Arrays)
            {
                content.Arrays[key] = value;
            }

            foreach (var (key, value) in train.Configs)
            {
                content.Configs[key] = value;
            }

            content.Configs[SecAggNames.Record] = new ConfigRecord { [SecAggNames.Shares] = shares };
            content.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Nodes, NodeTensor(senders) } };
            instructions.Add(Instruction(round, node, content));
        }

        // The shares of the nodes that dropped before this stage are never delivered: nobody holds them any more.
        state.Shares.Clear();
        var sum = new MaskedSum(state.Length, Settings.ModulusRange, new HashSet<long>(state.Senders.Keys));
        state.Sum = sum;
        await ExchangeAsync(round, instructions, _ => null, cancellationToken, sum).ConfigureAwait(false);
        FailBelowThreshold(state, sum.Count, "sent masked updates");
    }
}
