using System.Globalization;
using System.Numerics.Tensors;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Folds masked updates into one running sum modulo the modulus as they arrive (memory O(model) whatever the number
/// of clients); each masked vector is dropped once folded. Refuses a reply that is not a uint32 vector of the model's
/// length plus one with every element below the modulus, or that comes from a node not asked for one.
/// </summary>
internal sealed class MaskedSum(int length, long modulus, IReadOnlySet<long> expected) : ITrainAggregator
{
    private readonly uint[] _sum = new uint[length + 1];
    private readonly WeightedMetricFolder _metrics = new();
    private readonly HashSet<long> _folded = [];

    /// <summary>The nodes whose masked update is in the sum (U3), ascending.</summary>
    public IReadOnlyCollection<long> Nodes => _folded;

    /// <summary>The sum (model's flat length, then the weight).</summary>
    public Span<uint> Values => _sum;

    /// <inheritdoc />
    public int Count => _folded.Count;

    /// <summary>The unweighted mean of the clients' train metrics (their example counts stay masked).</summary>
    public MetricRecord Metrics()
    {
        return new MetricRecord(_metrics.Result().Where(kv => kv.Key != RecordNames.NumExamples));
    }

    /// <inheritdoc />
    public string? Add(Message reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        long node = reply.Metadata.SourceNodeId;
        if (!expected.Contains(node) || _folded.Contains(node))
        {
            return string.Create(CultureInfo.InvariantCulture, $"node {node} was not asked for a masked update in this round");
        }

        if (reply.Content is not { } content || !content.Arrays.TryGetValue(SecAggNames.Record, out var arrays) || !arrays.ContainsKey(SecAggNames.Masked))
        {
            return "the reply carries no masked update";
        }

        var masked = arrays[SecAggNames.Masked];
        if (masked.DType != DType.UInt32 || masked.Length != _sum.Length)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the masked update must be {_sum.Length} uint32 values, got {masked}");
        }

        var values = masked.AsSpan<uint>();
        if (modulus < (1L << 32) && TensorPrimitives.Max<uint>(values) >= modulus)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the masked update has values at or above the modulus {modulus}");
        }

        TensorPrimitives.Add<uint>(_sum, values, _sum);
        MaskStream.Reduce(_sum, modulus);
        var metrics = content.Metrics.TryGetValue(RecordNames.Metrics, out var m) ? new MetricRecord(m.Where(kv => kv.Key != RecordNames.NumExamples)) : new MetricRecord();
        _metrics.Add(metrics);
        _folded.Add(node);
        return null;
    }

    /// <inheritdoc />
    public AggregateResult Complete() => new(null, Metrics());
}
