namespace Federate.Learning.Partitioning;

/// <summary>
/// <c>column:NAME</c>: a natural split by the distinct values of a column, taken in ascending order and dealt
/// round-robin to clients (one value per client when the counts match). The column is looked up in
/// <see cref="Dataset.Columns"/>, then among the features by name. The seed is not used.
/// </summary>
internal sealed class ColumnPartitioner(string column) : Partitioner
{
    public string Column { get; } = column;

    public override int[][] Split(Dataset data, int clients, int seed)
    {
        Validate(data, clients);
        double[] values = ColumnValues(data);
        double[] distinct = [.. values.Distinct().Order()];
        if (clients > distinct.Length)
        {
            throw new ArgumentException($"column '{Column}' has {distinct.Length} distinct values; use --clients {distinct.Length} or fewer");
        }

        var clientOf = new Dictionary<double, int>(distinct.Length);
        for (int v = 0; v < distinct.Length; v++)
        {
            clientOf[distinct[v]] = v % clients;
        }

        var parts = new List<int>[clients];
        for (int c = 0; c < clients; c++)
        {
            parts[c] = [];
        }

        for (int i = 0; i < values.Length; i++)
        {
            parts[clientOf[values[i]]].Add(i);
        }

        return Sorted(parts);
    }

    public override string ToString() => $"column:{Column}";

    private double[] ColumnValues(Dataset data)
    {
        if (data.Columns.TryGetValue(Column, out var values))
        {
            return values;
        }

        int feature = -1;
        for (int j = 0; j < data.FeatureNames.Count; j++)
        {
            if (data.FeatureNames[j] == Column)
            {
                feature = j;
                break;
            }
        }

        if (feature < 0)
        {
            var available = data.Columns.Keys.Concat(data.FeatureNames);
            throw new ArgumentException($"column '{Column}' not found in dataset '{data.Name}'; available columns: {string.Join(", ", available)}");
        }

        var result = new double[data.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = data.Features[(i * data.FeatureCount) + feature];
        }

        return result;
    }
}
