using System.Numerics.Tensors;
using Tensor = Federate.Core.Records.Tensor;
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
/// The first update is copied in unweighted, and the next update's fold weighs it in the same pass
/// (<see cref="FoldKind.Rebase"/>, the same bits as weighing it first): so the mean of a single update is that update,
/// exactly, with no second pass over the sum; with two or more the bits are those of <c>Σ n_i·x_i</c> then the scale.
/// When the grid said how many replies to expect (<see cref="ExpectReplies"/>), the last one's fold also scales the
/// sum into the mean (each element rounded as the separate pass would: the same bits), so <see cref="Complete"/> has
/// no pass of its own over the model left. Should that update be taken back, or another come after it, the sum is
/// first brought back to an unscaled sum (a multiplication by the total weight).
/// </summary>
public sealed partial class WeightedMeanAggregator : ITrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly WeightedMetricFolder _metrics = new();
    private Tensor[]? _sums;
    private long[] _written = [];

    // Per tensor: elements [0, _converted) hold a weighted sum; [_converted, _written) hold the update _rawOwner
    // copied in unweighted (its weight _rawWeight); from _written on nothing was written yet.
    private long[] _converted = [];
    private double[] _rawWeight = [];
    private object?[] _rawOwner = [];
    private double _totalWeight;

    // The fused scale of the last expected update: _finalOwner's forward folds multiply by 1/_finalTotal; per tensor,
    // elements [0, _scaledTo) hold the mean already (always within the weighted part).
    private int _expected;
    private object? _finalOwner;
    private double _finalTotal;
    private long[] _scaledTo = [];

    /// <summary>Creates an aggregator for replies shaped like <paramref name="global"/>.</summary>
    public WeightedMeanAggregator(ArrayRecord global)
    {
        _global = global;
    }

    /// <summary>True when a tensor of this dtype is summed in float64 and rounded back (not float32/float64).</summary>
    internal static bool SumsWide(DType dtype) => dtype is not (DType.Float32 or DType.Float64);

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <summary>Elements the last update's fold has scaled into the mean so far (for tests).</summary>
    internal long ScaledByLastFold => _scaledTo.Sum();

    /// <inheritdoc />
    public void ExpectReplies(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _expected = count;
    }

    /// <inheritdoc />
    public string? Add(Message reply)
    {
        var problem = UpdateValidation.ValidateLayout(reply, _global, out var parameters, out var weight);
        if (problem is not null)
        {
            return problem;
        }

        EnsureSums();
        var owner = new object();
        Designate(owner, weight);
        int i = 0;
        foreach (var (name, tensor) in parameters!)
        {
            long folded = FoldRange(i, 0, tensor.AsBytes(), weight, check: true, owner);
            if (folded < tensor.Length)
            {
                // Take back what was folded of this update: the tensors before this one and this one's head.
                for (int j = 0; j <= i; j++)
                {
                    var t = parameters[parameters.Names[j]];
                    long n = j < i ? t.Length : folded;
                    FoldRange(j, 0, t.AsBytes()[..checked((int)(n * t.DType.SizeOf()))], -weight, check: false, owner);
                }

                return UpdateValidation.NotFinite(name);
            }

            i++;
        }

        Committed(owner, weight, reply.Content!.Metrics[RecordNames.Metrics]);
        return null;
    }

    /// <summary>Makes <paramref name="owner"/> the update whose fold also scales, when it is the last one expected.</summary>
    private void Designate(object owner, double weight)
    {
        if (_finalOwner is null && _expected > 1 && Count == _expected - 1)
        {
            _finalOwner = owner;
            _finalTotal = _totalWeight + weight;
        }
    }

    /// <summary>Counts an update whose fold is complete.</summary>
    private void Committed(object owner, double weight, MetricRecord metrics)
    {
        if (_finalOwner is not null && !ReferenceEquals(owner, _finalOwner))
        {
            Unscale();
        }

        _totalWeight += weight;
        _metrics.Add(metrics);
        Count++;
    }

    /// <summary>
    /// Brings the part of the sum the last update's fold scaled back to a sum (multiplied by the total weight it was
    /// scaled with), and stops scaling: that update was taken back, or another is folding after it.
    /// </summary>
    private void Unscale()
    {
        for (int t = 0; t < _scaledTo.Length; t++)
        {
            int n = checked((int)_scaledTo[t]);
            if (n > 0)
            {
                var sum = _sums![t];
                if (sum.DType == DType.Float32)
                {
                    AggregationKernels.Scale(sum.AsSpan<float>()[..n], (float)_finalTotal);
                }
                else
                {
                    AggregationKernels.Scale(sum.AsSpan<double>()[..n], _finalTotal);
                }
            }

            _scaledTo[t] = 0;
        }

        _finalOwner = null;
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
        _converted = [.. _written];
        _rawWeight = new double[_global.Count];
        _rawOwner = new object?[_global.Count];
        _scaledTo = new long[_global.Count];
    }

    /// <summary>
    /// Folds <c>weight · x</c> for elements [<paramref name="offset"/>, +n) of tensor <paramref name="index"/>, x being
    /// the little-endian elements in <paramref name="bytes"/>, for the update <paramref name="owner"/> (a negative
    /// weight takes a fold back). Elements of the weighted part are added to; those of the unweighted part are
    /// weighed and added to (another update's fold) or added to relatively (the owner's own undo); those above the
    /// written mark are copied unweighted (the tensor's first update) or written <c>w·x + 0</c>, and the mark moves
    /// past them. With <paramref name="check"/>, stops before the block holding the first NaN or infinity and returns
    /// the number of elements folded (n when all were finite).
    /// </summary>
    private long FoldRange(int index, long offset, ReadOnlySpan<byte> bytes, double weight, bool check, object owner)
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

        return dtype == DType.Float32
            ? FoldSplit(index, sum.AsSpan<float>(), MemoryMarshal.Cast<byte, float>(bytes), weight, offset, check, owner)
            : FoldSplit(index, sum.AsSpan<double>(), MemoryMarshal.Cast<byte, double>(bytes), weight, offset, check, owner);
    }

    /// <summary>
    /// The fold of <see cref="FoldRange"/> over the three parts of the tensor the range meets: weighted, unweighted,
    /// not written yet; the marks move with what was folded.
    /// </summary>
    private long FoldSplit<T>(int index, Span<T> sum, ReadOnlySpan<T> x, double weight, long offset, bool check, object owner)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (_finalOwner is not null && (weight < 0 || !ReferenceEquals(owner, _finalOwner)))
        {
            Unscale();
        }

        ref long written = ref _written[index];
        ref long converted = ref _converted[index];
        ref long scaledTo = ref _scaledTo[index];
        bool final = _finalOwner is not null;
        T mean = final ? T.CreateTruncating(1.0 / _finalTotal) : T.One;
        long end = offset + x.Length;
        if (_rawOwner[index] is null && written == 0)
        {
            _rawOwner[index] = owner;
            _rawWeight[index] = weight;
        }

        bool isOwner = ReferenceEquals(_rawOwner[index], owner);
        T prior = T.CreateTruncating(_rawWeight[index]);
        T w = T.CreateTruncating(weight);
        if (!isOwner && offset > converted && converted < written)
        {
            // This fold starts past the unweighted part's head: weigh the part it skips first (only when chunks come
            // out of order or an update stopped halfway; folds in order never get here).
            long until = Math.Min(offset, written);
            AggregationKernels.Rescale(sum[checked((int)converted)..checked((int)until)], prior, T.One);
            converted = until;
        }

        if (offset > written)
        {
            // A gap no update reached (only when chunks skip ahead): what adding to zero starts from.
            sum[checked((int)written)..checked((int)offset)].Clear();
            if (!isOwner)
            {
                converted = offset;
            }

            written = offset;
        }

        bool nonTemporal = (long)sum.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() >= AggregationKernels.NonTemporalBytes;
        long at = offset;
        while (at < end)
        {
            FoldKind kind;
            T factor = w;
            long stop;
            if (at < converted)
            {
                (kind, stop) = (FoldKind.Add, Math.Min(end, converted));
            }
            else if (at < written)
            {
                stop = Math.Min(end, written);
                if (isOwner)
                {
                    // The owner's own fold again (its undo): relative to the weight it was copied in with.
                    (kind, factor) = (FoldKind.Add, T.CreateTruncating(weight / _rawWeight[index]));
                }
                else
                {
                    kind = FoldKind.Rebase;
                }
            }
            else
            {
                stop = end;
                kind = isOwner ? FoldKind.Copy : FoldKind.Initialize;
            }

            int from = checked((int)(at - offset));
            int count = checked((int)(stop - at));
            bool scales = final && at == scaledTo && (kind is FoldKind.Add or FoldKind.Rebase);
            int done = AggregationKernels.Fold(sum.Slice(checked((int)at), count), x.Slice(from, count), factor, kind, prior, check, scales ? mean : T.One, nonTemporal);
            long reached = at + done;
            if (scales)
            {
                scaledTo = reached;
            }

            if (kind is FoldKind.Rebase or FoldKind.Initialize)
            {
                converted = Math.Max(converted, reached);
            }

            written = Math.Max(written, reached);
            if (done < count)
            {
                return reached - offset;
            }

            at = stop;
        }

        return x.Length;
    }

    /// <inheritdoc />
    public AggregateResult Complete()
    {
        if (_sums is null || _totalWeight <= 0)
        {
            return new AggregateResult(null, new MetricRecord());
        }

        if (_finalOwner is not null && _totalWeight != _finalTotal)
        {
            // The last update's fold scaled, but it was not committed (nor taken back): the sum's own scale below.
            Unscale();
        }

        // One update, copied in unweighted everywhere: the mean is that update, as it came. (Not when an abandoned
        // update got there first: the committed one was then weighed as it was folded, somewhere at least.)
        bool single = Count == 1;
        for (int t = 0; t < _sums.Length && single; t++)
        {
            single = SumsWide(_sums[t].DType)
                || (_converted[t] == 0 && _written[t] == _sums[t].Length && _rawWeight[t] == _totalWeight);
        }

        var result = new ArrayRecord();
        int i = 0;
        foreach (var name in _global.Names)
        {
            var sum = _sums[i];
            long written = _written[i];
            long converted = _converted[i];
            if (written < _global[name].Length)
            {
                // Elements no committed update reached (all updates that got there were taken back): zero.
                sum.AsBytes()[checked((int)(written * sum.DType.SizeOf()))..].Clear();
            }

            double rawWeight = _rawWeight[i];
            long scaledTo = _scaledTo[i];
            i++;
            if (single && !SumsWide(_global[name].DType))
            {
                // The update as it came.
            }
            else if (sum.DType == DType.Float32)
            {
                Finish(sum.AsSpan<float>(), scaledTo, converted, written, (float)rawWeight, (float)(1.0 / _totalWeight));
            }
            else
            {
                Finish(sum.AsSpan<double>(), scaledTo, converted, written, rawWeight, 1.0 / _totalWeight);
            }

            var dtype = _global[name].DType;
            result.Add(name, SumsWide(dtype) ? WideValues.FromDoubles(dtype, sum) : sum);
        }

        _sums = null;
        _finalOwner = null;
        return new AggregateResult(result, _metrics.Result());
    }

    /// <summary>
    /// Scales the weighted part from <paramref name="scaledTo"/> on (the last update's fold scaled the part before),
    /// weighs and scales the unweighted part, in one pass over each.
    /// </summary>
    private static void Finish<T>(Span<T> sum, long scaledTo, long converted, long written, T rawWeight, T scale)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        // Past the written mark the sum is zero, and stays zero scaled.
        var weighted = sum[checked((int)scaledTo)..checked((int)converted)];
        TensorPrimitives.Multiply(weighted, scale, weighted);
        AggregationKernels.Rescale(sum[checked((int)converted)..checked((int)written)], rawWeight, scale);
    }
}
