using System.Globalization;
using System.Security.Cryptography;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Stage 4: every node whose masked update is in the sum is told which of its share senders survived and which
/// dropped; it answers with its shares of the survivors' self-mask seeds and of the dropped nodes' mask keys (never
/// both for one node). The server rebuilds each secret from threshold shares, checks it (a seed against its
/// commitment, a key against its announced public key, so forged shares are caught), removes the survivors' self
/// masks and the dropped nodes' pairwise masks, and dequantizes the sum: the example-weighted mean update, handed to
/// the strategy as one reply. If any secret cannot be rebuilt, the round fails and nothing is unmasked.
/// </summary>
internal sealed class UnmaskStage(SecAggPlusSettings settings) : SecAggStage(settings)
{
    public override string Name => SecAggNames.Unmask;

    protected override async ValueTask RunAsync(RoundExecution round, SecAggRoundState? current, CancellationToken cancellationToken)
    {
        var state = Require(current);
        try
        {
            await UnmaskAsync(round, state, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            round.ModelUpdated = true;
        }
    }

    private async Task UnmaskAsync(RoundExecution round, SecAggRoundState state, CancellationToken cancellationToken)
    {
        var sum = state.Sum!;
        var survivors = new HashSet<long>(sum.Nodes);
        var dropped = new HashSet<long>(state.Senders.Keys.Where(n => !survivors.Contains(n)));
        var asked = new Dictionary<long, (long[] Survivors, long[] Dropped)>();
        var instructions = new List<Message>(survivors.Count);
        foreach (var node in survivors.Order())
        {
            var senders = state.Senders[node];
            var ask = (senders.Where(survivors.Contains).ToArray(), senders.Where(dropped.Contains).ToArray());
            asked[node] = ask;
            var content = new RecordDict();
            content.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Nodes, NodeTensor(ask.Item1) }, { SecAggNames.Dropped, NodeTensor(ask.Item2) } };
            instructions.Add(Instruction(round, node, content));
        }

        var replies = await ExchangeAsync(round, instructions, reply =>
        {
            var shares = Bytes(ReplyConfig(reply), SecAggNames.Shares);
            var (s, d) = asked[reply.Metadata.SourceNodeId];
            int expected = (s.Length + d.Length) * ShamirSharing.Size;
            if (shares is null || shares.Length != expected)
            {
                return string.Create(CultureInfo.InvariantCulture, $"the reply must carry {expected} bytes of shares, got {shares?.Length ?? 0}");
            }

            for (int i = 0; i < shares.Length; i += ShamirSharing.Size)
            {
                if (!ShamirSharing.IsFieldElement(shares.AsSpan(i, ShamirSharing.Size)))
                {
                    return "a share is not an element of the field (malformed)";
                }
            }

            return null;
        }, cancellationToken).ConfigureAwait(false);

        // Shares by owner: (x, y) from every holder that answered.
        var seedShares = survivors.ToDictionary(n => n, _ => new List<(int, byte[])>());
        var keyShares = dropped.ToDictionary(n => n, _ => new List<(int, byte[])>());
        foreach (var (holder, reply) in replies.OrderBy(kv => kv.Key))
        {
            var bytes = Bytes(ReplyConfig(reply), SecAggNames.Shares)!;
            var (s, d) = asked[holder];
            int i = 0;
            foreach (var owner in s.Concat(d))
            {
                var target = survivors.Contains(owner) ? seedShares[owner] : keyShares[owner];
                target.Add((state.ShareIndex(owner, holder), bytes.AsSpan(i * ShamirSharing.Size, ShamirSharing.Size).ToArray()));
                i++;
            }
        }

        var values = sum.Values;
        foreach (var owner in survivors.Order())
        {
            var seed = Rebuild(state, owner, seedShares[owner], "self-mask seed");
            if (seed is null)
            {
                return;
            }

            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(seed), state.Commitments[owner]))
            {
                state.Failed = string.Create(CultureInfo.InvariantCulture, $"the shares of node {owner}'s self-mask seed do not match its commitment (forged or corrupted shares): the round fails and nothing is unmasked");
                return;
            }

            MaskStream.Apply(KeyAgreement.SelfMaskKey(seed, round.Context.RunId, round.Round), values, -1);
        }

        foreach (var owner in dropped.Order())
        {
            var secret = Rebuild(state, owner, keyShares[owner], "mask key");
            if (secret is null)
            {
                return;
            }

            using var key = KeyAgreement.TryImportPrivate(secret, state.Keys[owner].Mask);
            CryptographicOperations.ZeroMemory(secret);
            if (key is null)
            {
                state.Failed = string.Create(CultureInfo.InvariantCulture, $"the shares of node {owner}'s mask key do not rebuild the key it announced (forged or corrupted shares): the round fails and nothing is unmasked");
                return;
            }

            foreach (var peer in state.Live[owner].Where(survivors.Contains).Where(p => state.Senders[p].Contains(owner)))
            {
                using var peerKey = KeyAgreement.TryImportPublic(state.Keys[peer].Mask)!;
                var seed = KeyAgreement.Derive(key, peerKey, round.Context.RunId, round.Round, owner, peer, KeyAgreement.MaskPurpose);
                // The survivor added the mask when its id is the smaller of the pair, subtracted it otherwise.
                MaskStream.Apply(seed, values, peer < owner ? -1 : 1);
            }
        }

        MaskStream.Reduce(values, Settings.ModulusRange);
        Complete(round, state, sum);
    }

    private byte[]? Rebuild(SecAggRoundState state, long owner, List<(int X, byte[] Y)> shares, string what)
    {
        if (shares.Count < state.Threshold)
        {
            state.Failed = string.Create(CultureInfo.InvariantCulture, $"only {shares.Count} neighbours of node {owner} returned shares of its {what}, fewer than the reconstruction threshold {state.Threshold}: the round fails and nothing is unmasked");
            return null;
        }

        return ShamirSharing.Combine(shares.Take(state.Threshold).ToArray());
    }

    // The dequantized sum times scale, tensor by tensor in the global model's layout, plus the global model when asked.
    private static ArrayRecord Dequantize(SecAggRoundState state, Span<uint> values, int k, double scale, bool addGlobal)
    {
        var quantizer = new Quantizer(state.Settings.ClippingRange, state.Settings.QuantizationRange);
        var model = new ArrayRecord();
        var block = new double[Math.Min(1 << 16, Math.Max(1, state.Length))];
        int offset = 0;
        foreach (var (name, tensor) in state.Global)
        {
            var next = Tensor.Zeros(tensor.DType, [.. tensor.Shape]);
            for (long start = 0; start < tensor.Length; start += block.Length)
            {
                int n = (int)Math.Min(block.Length, tensor.Length - start);
                var d = block.AsSpan(0, n);
                quantizer.Dequantize(values.Slice(offset + (int)start, n), k, d);
                System.Numerics.Tensors.TensorPrimitives.Multiply(d, scale, d);
                UpdateVector.Write(addGlobal ? tensor : null, next, start, d);
            }

            offset += checked((int)tensor.Length);
            model.Add(name, next);
        }

        return model;
    }

    private static void Complete(RoundExecution round, SecAggRoundState state, MaskedSum sum)
    {
        var quantizer = new Quantizer(state.Settings.ClippingRange, state.Settings.QuantizationRange);
        int k = sum.Count;
        var values = sum.Values;
        double weight = quantizer.Dequantize(values[state.Length], k);
        if (!(weight > 0))
        {
            state.Failed = "the unmasked weights sum to zero (every client had no examples)";
            return;
        }

        // Central DP: the clients clipped, the strategy gets the sum of updates and adds the noise. Otherwise the new
        // model is global + (sum of weighted updates) / (sum of weights), a single reply to the strategy.
        var aggregator = state.Aggregator!;
        bool clipped = state.ClipNorm is not null;
        var metrics = sum.Metrics();
        var update = Dequantize(state, values, k, clipped ? 1 : 1 / weight, addGlobal: !clipped);
        string? problem;
        if (aggregator is IClippedSumAggregator { ClipNorm: not null } summing)
        {
            metrics[RecordNames.NumExamples] = k;
            problem = summing.AddClippedSum(update, k, metrics);
        }
        else
        {
            metrics[RecordNames.NumExamples] = Math.Max(1, Math.Round(weight * state.Settings.MaxWeight));
            var reply = new RecordDict();
            reply.Arrays[RecordNames.Model] = update;
            reply.Metrics[RecordNames.Metrics] = metrics;
            problem = aggregator.Add(state.Train.Values.First().CreateReply(reply));
        }

        if (problem is not null)
        {
            state.Failed = $"the strategy refused the securely aggregated update: {problem}";
            return;
        }

        var result = aggregator.Complete();
        if (result.Parameters is not null)
        {
            round.Global = result.Parameters;
        }

        var train = result.Metrics;
        train["secagg_clients"] = k;
        train["secagg_dropped"] = state.Train.Count - k;
        round.TrainMetrics = train;
        round.Results = k;
    }
}
