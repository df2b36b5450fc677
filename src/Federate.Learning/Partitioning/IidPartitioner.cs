using Federate.Core;

namespace Federate.Learning.Partitioning;

/// <summary><c>iid</c>: a seeded shuffle cut into near-equal parts (sizes differ by at most 1).</summary>
internal sealed class IidPartitioner : Partitioner
{
    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        int n = data.Count;
        int[] order = [.. Enumerable.Range(0, n)];
        Shuffle(order, new Random(Seeds.Derive(seed, 0, "partition:iid")));
        var result = new int[clients][];
        int start = 0;
        for (int c = 0; c < clients; c++)
        {
            int size = (n / clients) + (c < n % clients ? 1 : 0);
            result[c] = order[start..(start + size)];
            Array.Sort(result[c]);
            start += size;
        }

        return result;
    }

    public override string ToString() => "iid";
}
