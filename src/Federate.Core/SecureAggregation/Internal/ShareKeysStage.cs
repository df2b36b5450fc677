using System.Globalization;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Stage 2: every node that announced keys gets the public keys of its neighbours that did too; it answers with its
/// self-mask seed and mask private key Shamir-shared among them, each neighbour's pair of shares encrypted for that
/// neighbour (the server routes them without being able to read them), and a commitment to its seed. A node left
/// with fewer live neighbours than the threshold cannot be protected and is left out.
/// </summary>
internal sealed class ShareKeysStage(SecAggPlusSettings settings) : SecAggStage(settings)
{
    public override string Name => SecAggNames.ShareKeys;

    protected override async ValueTask RunAsync(RoundExecution round, SecAggRoundState? current, CancellationToken cancellationToken)
    {
        var state = Require(current);
        var members = new HashSet<long>(state.Keys.Keys);
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var node in members.Order().ToArray())
            {
                int live = state.Graph.Neighbours(node).Count(members.Contains);
                if (live < state.Threshold)
                {
                    members.Remove(node);
                    round.Failures.Add(new RoundFailure(node, Name, "secagg_too_few_neighbours", string.Create(CultureInfo.InvariantCulture, $"only {live} of the node's neighbours are left, fewer than the threshold {state.Threshold}")));
                    changed = true;
                }
            }
        }

        var instructions = new List<Message>(members.Count);
        foreach (var node in members.Order())
        {
            var live = state.Graph.Neighbours(node).Where(members.Contains).ToArray();
            state.Live[node] = live;
            var content = new RecordDict();
            content.Configs[SecAggNames.Record] = new ConfigRecord
            {
                [SecAggNames.CipherKey] = live.SelectMany(v => state.Keys[v].Cipher).ToArray(),
                [SecAggNames.MaskKey] = live.SelectMany(v => state.Keys[v].Mask).ToArray(),
            };
            if (live.All(state.Signed.ContainsKey))
            {
                // The neighbours' certificates and signatures, so that the node can check the keys come from them.
                var config = content.Configs[SecAggNames.Record];
                config[SecAggNames.Certificate] = SignedKeys.Pack(live.Select(v => state.Signed[v].Certificate));
                config[SecAggNames.Signature] = SignedKeys.Pack(live.Select(v => state.Signed[v].Signature));
            }

            content.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Nodes, NodeTensor(live) } };
            instructions.Add(Instruction(round, node, content));
        }

        var replies = await ExchangeAsync(round, instructions, reply =>
        {
            var config = ReplyConfig(reply);
            var shares = Bytes(config, SecAggNames.Shares);
            var commitment = Bytes(config, SecAggNames.SeedCommitment);
            int expected = state.Live[reply.Metadata.SourceNodeId].Length * ShareCipher.Size;
            if (shares is null || shares.Length != expected)
            {
                return string.Create(CultureInfo.InvariantCulture, $"the reply must carry {expected} bytes of encrypted shares, got {shares?.Length ?? 0}");
            }

            return commitment is { Length: 32 } ? null : "the reply has no 32-byte seed commitment";
        }, cancellationToken).ConfigureAwait(false);

        foreach (var (node, reply) in replies)
        {
            var config = ReplyConfig(reply)!;
            var bytes = Bytes(config, SecAggNames.Shares)!;
            state.Shares[node] = [.. Enumerable.Range(0, state.Live[node].Length).Select(i => bytes.AsSpan(i * ShareCipher.Size, ShareCipher.Size).ToArray())];
            state.Commitments[node] = Bytes(config, SecAggNames.SeedCommitment)!;
        }

        FailBelowThreshold(state, state.Shares.Count, "shared their secrets");
    }
}
