using Federate.Core;

namespace Federate.Learning.Partitioning;

/// <summary>
/// <c>shards:K</c>: the pathological non-IID split of McMahan et al. (2017). Rows are sorted by label (stable, so
/// by index within a label), cut into clients * K contiguous shards of near-equal size, and each client gets K
/// shards chosen by a seeded shuffle.
/// </summary>
internal sealed class ShardPartitioner(int shardsPerClient) : Partitioner
{
    public int ShardsPerClient { get; } = shardsPerClient;

    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        int n = data.Count;
        long shardCount = (long)clients * ShardsPerClient;
        if (shardCount > n)
        {
            throw new ArgumentException($"shards:{ShardsPerClient} cannot cut {n} rows into {shardCount} shards ({clients} clients x {ShardsPerClient}); use fewer clients or a smaller K");
        }

        int[] byLabel = [.. Enumerable.Range(0, n).OrderBy(i => data.Labels[i])];
        int[] shards = [.. Enumerable.Range(0, (int)shardCount)];
        Shuffle(shards, new Random(Seeds.Derive(seed, 0, "partition:shards")));
        var parts = new List<int>[clients];
        for (int c = 0; c < clients; c++)
        {
            parts[c] = [];
            for (int s = 0; s < ShardsPerClient; s++)
            {
                int shard = shards[(c * ShardsPerClient) + s];
                int start = (int)(shard * (long)n / shardCount);
                int end = (int)((shard + 1) * (long)n / shardCount);
                for (int r = start; r < end; r++)
                {
                    parts[c].Add(byLabel[r]);
                }
            }
        }

        return Sorted(parts);
    }

    public override string ToString() => $"shards:{ShardsPerClient}";
}
