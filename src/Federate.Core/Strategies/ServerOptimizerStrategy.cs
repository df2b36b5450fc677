namespace Federate.Core.Strategies;

/// <summary>
/// Base of strategies that treat the change of the FedAvg average as a pseudo-gradient and apply a server-side
/// optimizer to it (Reddi et al., 2021, "Adaptive Federated Optimization"; Hsu et al., 2019, FedAvgM). The optimizer
/// state (moments) lives in the strategy, is carried across rounds and is checkpointed as tensors
/// (<see cref="Strategies.ITensorStateStrategy"/>). Aggregation streams exactly as FedAvg's does.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A strategy lives as long as its run; the moments' scratch file is unlinked at creation on Unix and its handle is released by the finalizer.")]
public abstract class ServerOptimizerStrategy : FedAvg, Strategies.ITensorStateStrategy
{
    private Aggregation.ScratchTensors<float>? _m;
    private Aggregation.ScratchTensors<float>? _v;

    /// <summary>Server learning rate.</summary>
    public double ServerLearningRate { get; init; }

    /// <summary>
    /// FedAvg's aggregator (so updates stream in whenever FedAvg's do) followed by the server step in
    /// <see cref="ITrainAggregator.Complete"/>. The step runs block by block and writes the new model over the average
    /// (no third model-sized array); the moments live in memory for small models and in a temporary file for large
    /// ones (<c>Aggregation.ScratchTensors</c>), so server memory stays the global model plus the running sum.
    /// </summary>
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Wrapped(base.CreateTrainAggregator(context, global), average => Step(context.Round, global, average));
    }

    /// <summary>The moments <c>m.i</c> and <c>v.i</c> (i = the global model's tensor index; empty for non-float32 tensors).</summary>
    public IReadOnlyList<Strategies.StateTensor> ExportTensors()
    {
        if (_m is not { } m || _v is not { } v)
        {
            return [];
        }

        var list = new List<Strategies.StateTensor>(2 * m.Lengths.Length);
        foreach (var (prefix, store) in new[] { ("m", m), ("v", v) })
        {
            for (int i = 0; i < store.Lengths.Length; i++)
            {
                int index = i;
                list.Add(new Strategies.StateTensor(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}.{i}"), DType.Float32, [store.Lengths[i]], s => store.CopyTo(index, s)));
            }
        }

        return list;
    }

    /// <summary>Restores moments written by <see cref="ExportTensors"/>; <see cref="FormatException"/> when they are malformed.</summary>
    public void ImportTensors(Formats.StateTensorFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var lengths = new List<long>();
        while (file.TryOpen(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"m.{lengths.Count}"), out var dtype, out var shape, out _))
        {
            if (dtype != DType.Float32 || shape.Length != 1)
            {
                throw new FormatException("invalid server optimizer state: a moment is not a float32 vector");
            }

            lengths.Add(shape[0]);
        }

        if (lengths.Count == 0)
        {
            return;
        }

        var m = new Aggregation.ScratchTensors<float>(lengths);
        var v = new Aggregation.ScratchTensors<float>(lengths);
        foreach (var (prefix, store) in new[] { ("m", m), ("v", v) })
        {
            for (int i = 0; i < lengths.Count; i++)
            {
                if (!file.TryOpen(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}.{i}"), out _, out var shape, out var data) || shape.Length != 1 || shape[0] != lengths[i])
                {
                    m.Dispose();
                    v.Dispose();
                    throw new FormatException($"invalid server optimizer state: moment {prefix}.{i} is missing or has the wrong length");
                }

                store.CopyFrom(i, data);
            }
        }

        _m?.Dispose();
        _v?.Dispose();
        _m = m;
        _v = v;
    }

    /// <summary>Applies one server step given the per-coordinate pseudo-gradient <c>delta = average - global</c>.</summary>
    /// <remarks>Called block by block (consecutive coordinates of one tensor); the step must be element-wise.</remarks>
    protected abstract void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v);

    private ArrayRecord Step(int round, ArrayRecord global, ArrayRecord average)
    {
        long[] lengths = [.. global.Select(kv => kv.Value.DType == DType.Float32 ? kv.Value.Length : 0L)];
        if (_m is null || _v is null)
        {
            _m = new Aggregation.ScratchTensors<float>(lengths);
            _v = new Aggregation.ScratchTensors<float>(lengths);
        }
        else if (!_m.Lengths.AsSpan().SequenceEqual(lengths))
        {
            throw new InvalidOperationException("the server optimizer's moments do not match the global model's layout");
        }

        int block = Aggregation.ScratchTensors<float>.BlockElements;
        var delta = new float[block];
        var mBlock = new float[block];
        var vBlock = new float[block];
        int i = 0;
        foreach (var (name, t) in global)
        {
            if (t.DType == DType.Float32)
            {
                // The new weights are written over the average: w = global, then the optimizer's step.
                var avg = UpdateMath.At(average, i).AsSpan<float>();
                var w = t.AsSpan<float>();
                for (int offset = 0; offset < w.Length; offset += block)
                {
                    int n = Math.Min(block, w.Length - offset);
                    var a = avg.Slice(offset, n);
                    var d = delta.AsSpan(0, n);
                    System.Numerics.Tensors.TensorPrimitives.Subtract(a, w.Slice(offset, n), d);
                    w.Slice(offset, n).CopyTo(a);
                    _m.Read(i, offset, mBlock.AsSpan(0, n));
                    _v.Read(i, offset, vBlock.AsSpan(0, n));
                    Update(round, a, d, mBlock.AsSpan(0, n), vBlock.AsSpan(0, n));
                    _m.Write(i, offset, mBlock.AsSpan(0, n));
                    _v.Write(i, offset, vBlock.AsSpan(0, n));
                }
            }

            i++;
        }

        return average;
    }

    private sealed class Wrapped(ITrainAggregator inner, Func<ArrayRecord, ArrayRecord> step) : Strategies.DelegatingTrainAggregator(inner)
    {
        public override AggregateResult Complete()
        {
            var r = Inner.Complete();
            return r.Parameters is null ? r : r with { Parameters = step(r.Parameters) };
        }
    }
}
