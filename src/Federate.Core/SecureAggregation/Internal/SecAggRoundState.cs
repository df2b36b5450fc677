namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// What the server keeps of one secure-aggregation round between its stages (in <see cref="RoundExecution.Items"/>):
/// the graph, the public keys, the encrypted shares to route, the commitments and the running modular sum of the
/// masked updates. It never holds an unmasked individual update.
/// </summary>
internal sealed class SecAggRoundState(SecAggPlusSettings settings, ArrayRecord global, IReadOnlyDictionary<long, Message> train, CommunicationGraph graph, int degree, int threshold)
{
    /// <summary>The key of the state in <see cref="RoundExecution.Items"/>.</summary>
    public const string ItemKey = "secagg";

    public SecAggPlusSettings Settings { get; } = settings;

    /// <summary>The global model at the start of the round (the updates are masked relative to it).</summary>
    public ArrayRecord Global { get; } = global;

    /// <summary>The strategy's train instructions by node (the sampled nodes).</summary>
    public IReadOnlyDictionary<long, Message> Train { get; } = train;

    public CommunicationGraph Graph { get; } = graph;

    public int Degree { get; } = degree;

    public int Threshold { get; } = threshold;

    /// <summary>The strategy's train aggregator of the round (created with the instructions, as the train stage does).</summary>
    public ITrainAggregator? Aggregator { get; set; }

    /// <summary>The L2 norm clients clip their updates to (central DP), or null: updates are weighted by examples instead.</summary>
    public double? ClipNorm => (Aggregator as IClippedSumAggregator)?.ClipNorm;

    /// <summary>Why the round failed (nothing is unmasked then); null while it goes on.</summary>
    public string? Failed { get; set; }

    /// <summary>Nodes that announced valid public keys (after setup): U1.</summary>
    public Dictionary<long, (byte[] Cipher, byte[] Mask)> Keys { get; } = [];

    /// <summary>The certificate and signature each node sent with its keys, when it signs them (startup kits).</summary>
    public Dictionary<long, (byte[] Certificate, byte[] Signature)> Signed { get; } = [];

    /// <summary>Each node's neighbours that announced keys, the nodes it shares its secrets with.</summary>
    public Dictionary<long, long[]> Live { get; } = [];

    /// <summary>Encrypted shares by sender, one per node of <see cref="Live"/> (after share keys): U2 = the keys.</summary>
    public Dictionary<long, byte[][]> Shares { get; } = [];

    /// <summary>SHA-256 of each sender's self-mask seed.</summary>
    public Dictionary<long, byte[]> Commitments { get; } = [];

    /// <summary>What each node was told its share senders are (collect stage).</summary>
    public Dictionary<long, long[]> Senders { get; } = [];

    /// <summary>The running sum of masked updates (after collect).</summary>
    public MaskedSum? Sum { get; set; }

    /// <summary>Flat length of the model.</summary>
    public int Length { get; } = checked((int)global.ElementCount);

    /// <summary>The share x-coordinate (1-based) that <paramref name="holder"/> holds of <paramref name="owner"/>'s secrets.</summary>
    public int ShareIndex(long owner, long holder)
    {
        var neighbours = Graph.Neighbours(owner);
        for (int i = 0; i < neighbours.Count; i++)
        {
            if (neighbours[i] == holder)
            {
                return i + 1;
            }
        }

        throw new InvalidOperationException($"node {holder} is not a neighbour of node {owner}");
    }
}
