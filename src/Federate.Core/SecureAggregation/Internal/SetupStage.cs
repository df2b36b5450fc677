using System.Globalization;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Stage 1: the strategy samples the round's nodes; the server draws the communication graph and sends every node
/// the settings and its neighbours; each node answers with two fresh P-256 public keys (one to encrypt shares, one
/// to agree masks). Keys that are not points of the curve, or that another node also announced, are refused.
/// </summary>
internal sealed class SetupStage(SecAggPlusSettings settings) : SecAggStage(settings)
{
    public override string Name => SecAggNames.Setup;

    protected override async ValueTask RunAsync(RoundExecution round, SecAggRoundState? ignored, CancellationToken cancellationToken)
    {
        var train = round.Strategy.ConfigureTrain(round.Context, round.Global, round.Options.TrainConfig, round.Nodes);
        round.ReportStarted(train.Count);
        var nodes = train.Select(m => m.Metadata.DestinationNodeId).ToArray();
        int degree = Settings.Degree(nodes.Length);
        int threshold = Settings.Threshold(nodes.Length);
        var graph = new CommunicationGraph(nodes, degree, round.Context.CreateRandom("secagg-graph"));
        var state = new SecAggRoundState(Settings, round.Global, train.ToDictionary(m => m.Metadata.DestinationNodeId), graph, degree, threshold);
        round.Items[SecAggRoundState.ItemKey] = state;
        state.Aggregator = round.Strategy.CreateTrainAggregator(round.Context, round.Global);
        if (nodes.Length < 3)
        {
            state.Failed = string.Create(CultureInfo.InvariantCulture, $"secure aggregation needs at least 3 clients in a round (a sum of two reveals each to the other), got {nodes.Length}");
            return;
        }

        if (Settings.ValidateClients(nodes.Length) is { } problem)
        {
            state.Failed = problem;
            return;
        }

        var instructions = new List<Message>(nodes.Length);
        foreach (var node in nodes)
        {
            var content = new RecordDict();
            var config = content.Configs[SecAggNames.Record] = new ConfigRecord
            {
                ["threshold"] = threshold,
                ["clipping_range"] = Settings.ClippingRange,
                ["quantization_range"] = Settings.QuantizationRange,
                ["modulus_range"] = Settings.ModulusRange,
                ["max_weight"] = Settings.MaxWeight,
            };
            if (state.ClipNorm is { } clip)
            {
                config[SecAggNames.ClipNorm] = clip;
            }

            content.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Nodes, NodeTensor(graph.Neighbours(node).ToArray()) } };
            instructions.Add(Instruction(round, node, content));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var replies = await ExchangeAsync(round, instructions, reply =>
        {
            var config = ReplyConfig(reply);
            var cipher = Bytes(config, SecAggNames.CipherKey);
            var mask = Bytes(config, SecAggNames.MaskKey);
            if (cipher is null || mask is null)
            {
                return "the reply has no public keys";
            }

            using var c = KeyAgreement.TryImportPublic(cipher);
            using var m = KeyAgreement.TryImportPublic(mask);
            if (c is null || m is null)
            {
                return "a public key is not a point of P-256 (malformed or forged)";
            }

            if (!seen.Add(Convert.ToHexString(cipher)) | !seen.Add(Convert.ToHexString(mask)) || cipher.AsSpan().SequenceEqual(mask))
            {
                return "a public key was announced twice (replayed or forged)";
            }

            return null;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var (node, reply) in replies)
        {
            var config = ReplyConfig(reply)!;
            state.Keys[node] = (Bytes(config, SecAggNames.CipherKey)!, Bytes(config, SecAggNames.MaskKey)!);
            if (Bytes(config, SecAggNames.Certificate) is { } certificate && Bytes(config, SecAggNames.Signature) is { } signature)
            {
                state.Signed[node] = (certificate, signature);
            }
        }

        FailBelowThreshold(state, state.Keys.Count, "announced their keys");
    }
}
