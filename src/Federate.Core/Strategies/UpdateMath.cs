namespace Federate.Core.Strategies;

/// <summary>Helpers to view every tensor of a set of updates as flat float64 or float32 spans.</summary>
public static class UpdateMath
{
    /// <summary>Creates a record with the layout of <paramref name="template"/> whose tensors are produced per tensor index.</summary>
    public static ArrayRecord Map(ArrayRecord template, Func<int, Tensor, Tensor> create)
    {
        var result = new ArrayRecord();
        int i = 0;
        foreach (var (name, tensor) in template)
        {
            result.Add(name, create(i++, tensor));
        }

        return result;
    }

    /// <summary>The tensor at position <paramref name="index"/> of a record.</summary>
    public static Tensor At(ArrayRecord record, int index) => record[record.Names[index]];

    /// <summary>Squared Euclidean distance between two models over all tensors.</summary>
    public static double SquaredDistance(ArrayRecord a, ArrayRecord b)
    {
        double sum = 0;
        for (int i = 0; i < a.Count; i++)
        {
            var x = At(a, i);
            var y = At(b, i);
            if (x.DType == DType.Float32)
            {
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<float>(x.AsSpan<float>(), y.AsSpan<float>());
                sum += (double)d * d;
            }
            else
            {
                var d = System.Numerics.Tensors.TensorPrimitives.Distance<double>(x.AsSpan<double>(), y.AsSpan<double>());
                sum += d * d;
            }
        }

        return sum;
    }

    /// <summary>Euclidean norm of <c>a - b</c> over all tensors.</summary>
    public static double Distance(ArrayRecord a, ArrayRecord b) => Math.Sqrt(SquaredDistance(a, b));

    /// <summary>Unweighted mean of some updates.</summary>
    public static ArrayRecord Mean(ArrayRecord template, IReadOnlyList<ArrayRecord> models)
    {
        return Map(template, (i, t) =>
        {
            var sum = Tensor.Zeros(t.DType, [.. t.Shape]);
            foreach (var m in models)
            {
                var x = At(m, i);
                if (t.DType == DType.Float32)
                {
                    AggregationKernels.FoldWeighted(sum.AsSpan<float>(), x.AsSpan<float>(), 1f);
                }
                else
                {
                    AggregationKernels.FoldWeighted(sum.AsSpan<double>(), x.AsSpan<double>(), 1.0);
                }
            }

            if (t.DType == DType.Float32)
            {
                AggregationKernels.Scale(sum.AsSpan<float>(), 1f / models.Count);
            }
            else
            {
                AggregationKernels.Scale(sum.AsSpan<double>(), 1.0 / models.Count);
            }

            return sum;
        });
    }
}
