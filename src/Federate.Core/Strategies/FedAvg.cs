namespace Federate.Core.Strategies;

/// <summary>
/// Federated Averaging (McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks from
/// Decentralized Data"): the new global model is the example-weighted mean of the clients' models. Replies are
/// folded into one running sum as they arrive, so memory is O(model) whatever the number of clients.
/// </summary>
public class FedAvg : Strategy
{
    /// <inheritdoc />
    public override string Name => "fedavg";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => new WeightedMeanAggregator(global);
}

/// <summary>
/// Folds replies into an example-weighted running sum: <c>sum += n_i * x_i</c>, then divides by <c>sum n_i</c>.
/// Float32 and float64 tensors are summed in their own dtype. Other tensors (float16, integers, bool; e.g. PyTorch's
/// <c>num_batches_tracked</c> from Flower clients) are summed in float64 and the mean is rounded to the nearest
/// value of the dtype (ties to even, clamped to its range); bool tensors so take the weighted majority.
/// </summary>
public sealed partial class WeightedMeanAggregator : ITrainAggregator
{
    private readonly ArrayRecord _global;
    private readonly WeightedMetricFolder _metrics = new();
    private Tensor[]? _sums;
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
        var problem = UpdateValidation.Validate(reply, _global, out var parameters, out var weight);
        if (problem is not null)
        {
            return problem;
        }

        EnsureSums();
        int i = 0;
        foreach (var (_, tensor) in parameters!)
        {
            var sum = _sums[i++];
            if (sum.DType == DType.Float32)
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<float>(), tensor.AsSpan<float>(), (float)weight);
            }
            else if (SumsWide(tensor.DType))
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<double>(), WideValues.ToDoubles(tensor.DType, tensor.AsBytes()), weight);
            }
            else
            {
                AggregationKernels.FoldWeighted(sum.AsSpan<double>(), tensor.AsSpan<double>(), weight);
            }
        }

        _totalWeight += weight;
        _metrics.Add(reply.Content!.Metrics[RecordNames.Metrics]);
        Count++;
        return null;
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_sums))]
    private void EnsureSums() => _sums ??= [.. _global.Select(kv => Tensor.Zeros(SumsWide(kv.Value.DType) ? DType.Float64 : kv.Value.DType, [.. kv.Value.Shape]))];

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
            var sum = _sums[i++];
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

/// <summary>Checks a train reply before it is folded.</summary>
public static class UpdateValidation
{
    /// <summary>
    /// Checks that a reply carries a model with the global model's layout, finite values and a positive
    /// <c>num_examples</c>. Returns a one-line problem, or null with the parameters and weight.
    /// </summary>
    public static string? Validate(Message reply, ArrayRecord global, out ArrayRecord? parameters, out double weight)
    {
        parameters = null;
        weight = 0;
        if (reply.Content is not { } content)
        {
            return reply.Error?.Reason ?? "reply has no content";
        }

        if (!content.Arrays.TryGetValue(RecordNames.Model, out parameters))
        {
            return "reply has no 'model' array record";
        }

        var mismatch = global.DescribeLayoutMismatch(parameters);
        if (mismatch is not null)
        {
            parameters = null;
            return $"update does not match the global model: {mismatch}";
        }

        if (MetricAggregation.NumExamples(reply) is not { } n)
        {
            parameters = null;
            return "reply has no positive 'num_examples' metric";
        }

        foreach (var (name, tensor) in parameters)
        {
            if (!AggregationKernels.AllFinite(tensor))
            {
                parameters = null;
                return $"update tensor '{name}' contains NaN or infinity";
            }
        }

        weight = n;
        return null;
    }
}

/// <summary>Conversions for tensors FedAvg sums in float64 (float16, integers, bool).</summary>
internal static class WideValues
{
    /// <summary>The little-endian elements of <paramref name="dtype"/> in <paramref name="bytes"/> as doubles.</summary>
    public static double[] ToDoubles(DType dtype, ReadOnlySpan<byte> bytes)
    {
        int size = dtype.SizeOf();
        var values = new double[bytes.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            var b = bytes.Slice(i * size, size);
            values[i] = dtype switch
            {
                DType.Float16 => (double)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(b),
                DType.Int8 => (sbyte)b[0],
                DType.Int16 => System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(b),
                DType.Int32 => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(b),
                DType.Int64 => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b),
                DType.UInt16 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b),
                DType.UInt32 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b),
                DType.UInt64 => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b),
                _ => b[0], // UInt8, Bool
            };
        }

        return values;
    }

    /// <summary>A tensor of <paramref name="dtype"/> from float64 means: integers rounded half to even and clamped.</summary>
    public static Tensor FromDoubles(DType dtype, Tensor means)
    {
        var source = means.AsSpan<double>();
        var result = Tensor.Zeros(dtype, [.. means.Shape]);
        for (int i = 0; i < source.Length; i++)
        {
            double v = source[i];
            double r = Math.Round(v, MidpointRounding.ToEven);
            switch (dtype)
            {
                case DType.Float16: result.AsSpan<Half>()[i] = (Half)v; break;
                case DType.Int8: result.AsSpan<sbyte>()[i] = (sbyte)Math.Clamp(r, sbyte.MinValue, sbyte.MaxValue); break;
                case DType.Int16: result.AsSpan<short>()[i] = (short)Math.Clamp(r, short.MinValue, short.MaxValue); break;
                case DType.Int32: result.AsSpan<int>()[i] = (int)Math.Clamp(r, int.MinValue, int.MaxValue); break;
                case DType.Int64: result.AsSpan<long>()[i] = r >= 9.2233720368547758E18 ? long.MaxValue : r <= -9.2233720368547758E18 ? long.MinValue : (long)r; break;
                case DType.UInt8: result.AsSpan<byte>()[i] = (byte)Math.Clamp(r, byte.MinValue, byte.MaxValue); break;
                case DType.UInt16: result.AsSpan<ushort>()[i] = (ushort)Math.Clamp(r, ushort.MinValue, ushort.MaxValue); break;
                case DType.UInt32: result.AsSpan<uint>()[i] = (uint)Math.Clamp(r, uint.MinValue, uint.MaxValue); break;
                case DType.UInt64: result.AsSpan<ulong>()[i] = r >= 1.8446744073709552E19 ? ulong.MaxValue : r <= 0 ? 0 : (ulong)r; break;
                case DType.Bool: result.AsSpan<bool>()[i] = r >= 1; break;
                default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a wide-summed dtype");
            }
        }

        return result;
    }
}
