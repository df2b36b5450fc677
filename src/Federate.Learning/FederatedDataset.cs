using System.Collections.Concurrent;
using Partitioner = Federate.Learning.Partitioning.Partitioner;
using Federate.Core;

namespace Federate.Learning;

/// <summary>
/// A dataset split among clients the same way in simulation and deployment: rows are partitioned by a
/// <see cref="Partitioner"/> with the run seed, then each partition is split into local train and test rows.
/// When the dataset has an official test split (Fashion-MNIST), that split is dealt out evenly (iid) as the
/// clients' local test data instead. Partition datasets are built lazily and cached.
/// </summary>
public sealed class FederatedDataset
{
    private readonly DataSplit _split;
    private readonly int[][] _trainRows;
    private readonly int[][]? _testRows;
    private readonly double _testFraction;
    private readonly int _seed;
    private readonly ConcurrentDictionary<int, Lazy<(Dataset Train, Dataset Test)>> _cache = new();

    private FederatedDataset(DataSplit split, int[][] trainRows, int[][]? testRows, double testFraction, int seed)
    {
        _split = split;
        _trainRows = trainRows;
        _testRows = testRows;
        _testFraction = testFraction;
        _seed = seed;
    }

    /// <summary>Number of partitions.</summary>
    public int Partitions => _trainRows.Length;

    /// <summary>Features per row.</summary>
    public int FeatureCount => _split.Train.FeatureCount;

    /// <summary>Number of classes.</summary>
    public int ClassCount => _split.Train.ClassCount;

    /// <summary>The dataset name.</summary>
    public string Name => _split.Train.Name;

    /// <summary>Partitions <paramref name="split"/> among <paramref name="partitions"/> clients.</summary>
    /// <exception cref="ArgumentException">The split is impossible (one-line message).</exception>
    public static FederatedDataset Create(DataSplit split, int partitions, string partitionSpec, int seed, double testFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(split);
        if (!(testFraction >= 0 && testFraction < 1))
        {
            throw new ArgumentException($"--test-fraction must be in [0, 1), got {testFraction}");
        }

        var partitioner = Partitioner.Parse(partitionSpec);
        var train = partitioner.Split(split.Train, partitions, seed);
        int[][]? test = null;
        if (split.Test is { } testSet)
        {
            test = Partitioner.Parse("iid").Split(testSet, partitions, Seeds.Derive(seed, 0, "test-partition"));
        }

        return new FederatedDataset(split, train, test, testFraction, seed);
    }

    /// <summary>The local train and test data of partition <paramref name="id"/> (0-based).</summary>
    public (Dataset Train, Dataset Test) GetPartition(int id)
    {
        if (id < 0 || id >= Partitions)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"partition id must be in [0, {Partitions - 1}]");
        }

        return _cache.GetOrAdd(id, i => new Lazy<(Dataset, Dataset)>(() => Build(i))).Value;
    }

    private (Dataset Train, Dataset Test) Build(int id)
    {
        if (_testRows is not null)
        {
            return (_split.Train.Subset(_trainRows[id]), _split.Test!.Subset(_testRows[id]));
        }

        var (trainRows, testRows) = TrainTestSplit.Split(_trainRows[id], _testFraction, Seeds.Derive(_seed, id, "train-test"));
        return (_split.Train.Subset(trainRows), _split.Train.Subset(testRows));
    }
}
