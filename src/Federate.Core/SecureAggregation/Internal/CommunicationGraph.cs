namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// The SecAgg+ communication graph of a round: the sampled nodes placed on a ring in a seeded random order, each
/// joined to its k/2 nearest nodes on either side (a k-regular Harary graph), so every node has k neighbours and
/// the graph is the same for the server and a replay with the same seed.
/// </summary>
internal sealed class CommunicationGraph
{
    private readonly Dictionary<long, long[]> _neighbours;

    /// <summary>Builds the graph of degree <paramref name="degree"/> over <paramref name="nodes"/>.</summary>
    public CommunicationGraph(IReadOnlyList<long> nodes, int degree, Random random)
    {
        var ring = nodes.Order().ToArray();
        random.Shuffle(ring);
        int n = ring.Length;
        _neighbours = new Dictionary<long, long[]>(n);
        for (int i = 0; i < n; i++)
        {
            var set = new SortedSet<long>();
            if (degree >= n - 1)
            {
                set.UnionWith(ring.Where(x => x != ring[i]));
            }
            else
            {
                for (int d = 1; d <= degree / 2; d++)
                {
                    set.Add(ring[(i + d) % n]);
                    set.Add(ring[(i - d + n) % n]);
                }
            }

            _neighbours[ring[i]] = [.. set];
        }
    }

    /// <summary>The node's neighbours, ascending by node id.</summary>
    public IReadOnlyList<long> Neighbours(long node) => _neighbours[node];

    /// <summary>True when the two nodes are neighbours.</summary>
    public bool AreNeighbours(long a, long b) => _neighbours.TryGetValue(a, out var n) && Array.BinarySearch(n, b) >= 0;
}
