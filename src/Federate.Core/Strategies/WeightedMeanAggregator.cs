using System.Runtime.InteropServices;

namespace Federate.Core.Strategies;

/// <summary>
/// Folds replies into an example-weighted running sum: <c>sum += n_i * x_i</c>, then divides by <c>sum n_i</c>.
/// Float32 and float64 tensors are summed in their own dtype. Other tensors (float16, integers, bool; e.g. PyTorch's
/// <c>num_batches_tracked</c> from Flower clients) are summed in float64 and the mean is rounded to the nearest
/// value of the dtype (ties to even, clamped to its range); bool tensors so take the weighted majority.
/// The NaN/infinity check is fused into the fold (each block of an update is checked while in cache, then folded),
/// and the running sum is allocated uninitialised where the previous round's model was
/// (<see cref="ModelBuffers"/>): elements no update has reached yet are written by the first fold, not added to.
/// </summary>
public sealed partial class WeightedMeanAggregator : ITrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly WeightedMetricFolder _metrics = new();
    private Tensor[]? _sums;
    private long[] _written = [];
    private double _totalWeight;

    /// <summary>Creates an aggregator for replies shaped like <paramref name="global"/>.</summary>
    public WeightedMeanAggregator(ArrayRecord global)
    {
        _global = global;
    }

    /// <summary>True when a tensor of this dtype is summed in float64 and rounded back (not float32/float64).</summary>
    internal static bool SumsWide(DType dtype) => dtype is not (DType.Float32 or DType.Float64);

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public string? Add(Message reply)
    {
        var problem = UpdateValidation.ValidateLayout(reply, _global, out var parameters, out var weight);
        if (problem is not null)
        {
            return problem;
        }

        EnsureSums();
        int i = 0;
        foreach (var (name, tensor) in parameters!)
        {
            long folded = FoldRange(i, 0, tensor.AsBytes(), weight, check: true);
            if (folded < tensor.Length)
            {
                // Take back what was folded of this update: the tensors before this one and this one's head.
                for (int j = 0; j <= i; j++)
                {
                    var t = parameters[parameters.Names[j]];
                    long n = j < i ? t.Length : folded;
                    FoldRange(j, 0, t.AsBytes()[..checked((int)(n * t.DType.SizeOf()))], -weight, check: false);
                }

                return UpdateValidation.NotFinite(name);
            }

            i++;
        }

        _totalWeight += weight;
        _metrics.Add(reply.Content!.Metrics[RecordNames.Metrics]);
        Count++;
        return null;
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_sums))]
    private void EnsureSums()
    {
        if (_sums is not null)
        {
            return;
        }

        ModelBuffers.Reclaim(_global.Sum(kv => kv.Value.Length * (SumsWide(kv.Value.DType) ? sizeof(double) : kv.Value.DType.SizeOf())));
        _sums = [.. _global.Select(kv => SumsWide(kv.Value.DType)
            ? Tensor.Zeros(DType.Float64, [.. kv.Value.Shape])
            : ModelBuffers.Uninitialized(kv.Value.DType, [.. kv.Value.Shape]))];
        _written = [.. _global.Select(kv => SumsWide(kv.Value.DType) ? kv.Value.Length : 0L)];
    }

    /// <summary>
    /// Folds <c>weight · x</c> for elements [<paramref name="offset"/>, +n) of tensor <paramref name="index"/>, x being
    /// the little-endian elements in <paramref name="bytes"/>. Elements below the tensor's written mark are added to;
    /// those above it are written (<c>w·x + 0</c>, what adding to zero gives) and the mark moves past them. With
    /// <paramref name="check"/>, stops before the block holding the first NaN or infinity and returns the number of
    /// elements folded (n when all were finite).
    /// </summary>
    private long FoldRange(int index, long offset, ReadOnlySpan<byte> bytes, double weight, bool check)
    {
        var sum = _sums![index];
        var dtype = _global[_global.Names[index]].DType;
        int n = bytes.Length / dtype.SizeOf();
        if (SumsWide(dtype))
        {
            if (check && !AggregationKernels.AllFinite(dtype, bytes))
            {
                return 0;
            }

            var wide = sum.AsSpan<double>().Slice(checked((int)offset), n);
            AggregationKernels.FoldWeighted(wide, WideValues.ToDoubles(dtype, bytes), weight);
            return n;
        }

        ref long written = ref _written[index];
        if (offset > written)
        {
            // A gap no update reached (only when chunks skip ahead): what adding to zero starts from.
            sum.AsBytes()[checked((int)(written * dtype.SizeOf()))..checked((int)(offset * dtype.SizeOf()))].Clear();
            written = offset;
        }

        int added = (int)Math.Clamp(written - offset, 0, n);
        long folded = dtype == DType.Float32
            ? FoldSplit(sum.AsSpan<float>(), MemoryMarshal.Cast<byte, float>(bytes), (float)weight, offset, added, check)
            : FoldSplit(sum.AsSpan<double>(), MemoryMarshal.Cast<byte, double>(bytes), weight, offset, added, check);
        written = Math.Max(written, offset + Math.Max(folded, added));
        return folded;
    }

    /// <summary>Adds to the first <paramref name="added"/> elements of the range and writes the rest.</summary>
    private static long FoldSplit<T>(Span<T> sum, ReadOnlySpan<T> x, T weight, long offset, int added, bool check)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var acc = sum.Slice(checked((int)offset), x.Length);
        int done = AggregationKernels.Fold(acc[..added], x[..added], weight, initialize: false, check);
        return done < added ? done : added + AggregationKernels.Fold(acc[added..], x[added..], weight, initialize: true, check);
    }

    /// <inheritdoc />
    public AggregateResult Complete()
    {
        if (_sums is null || _totalWeight <= 0)
        {
            return new AggregateResult(null, new MetricRecord());
        }

        var result = new ArrayRecord();
        int i = 0;
        foreach (var name in _global.Names)
        {
            var sum = _sums[i];
            if (_written[i] < _global[name].Length)
            {
                // Elements no committed update reached (all updates that got there were taken back): zero.
                sum.AsBytes()[checked((int)(_written[i] * sum.DType.SizeOf()))..].Clear();
            }

            i++;
            if (sum.DType == DType.Float32)
            {
                AggregationKernels.Scale(sum.AsSpan<float>(), (float)(1.0 / _totalWeight));
            }
            else
            {
                AggregationKernels.Scale(sum.AsSpan<double>(), 1.0 / _totalWeight);
            }

            var dtype = _global[name].DType;
            result.Add(name, SumsWide(dtype) ? WideValues.FromDoubles(dtype, sum) : sum);
        }

        _sums = null;
        return new AggregateResult(result, _metrics.Result());
    }
}
