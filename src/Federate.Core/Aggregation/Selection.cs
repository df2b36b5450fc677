using System.Numerics;

namespace Federate.Core;

/// <summary>Selection (quickselect) helpers for coordinate-wise robust aggregation: O(n) per coordinate, no full sort.</summary>
public static class Selection
{
    /// <summary>
    /// Reorders <paramref name="values"/> so that the element at <paramref name="k"/> is the one a sort would put
    /// there, smaller-or-equal ones before it and larger-or-equal ones after it (Hoare's selection).
    /// </summary>
    public static void Select<T>(Span<T> values, int k)
        where T : INumber<T>
    {
        int lo = 0;
        int hi = values.Length - 1;
        while (hi > lo)
        {
            // Median of three as pivot.
            int mid = lo + ((hi - lo) >> 1);
            if (values[mid] < values[lo])
            {
                (values[mid], values[lo]) = (values[lo], values[mid]);
            }

            if (values[hi] < values[lo])
            {
                (values[hi], values[lo]) = (values[lo], values[hi]);
            }

            if (values[hi] < values[mid])
            {
                (values[hi], values[mid]) = (values[mid], values[hi]);
            }

            var pivot = values[mid];
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (pivot < values[j])
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>The median (mean of the two middle values for an even count). Reorders the span.</summary>
    public static T Median<T>(Span<T> values)
        where T : INumber<T>
    {
        int n = values.Length;
        int k = n / 2;
        Select(values, k);
        if ((n & 1) == 1)
        {
            return values[k];
        }

        // The lower middle is the largest of the first half.
        var lower = values[0];
        for (int i = 1; i < k; i++)
        {
            if (values[i] > lower)
            {
                lower = values[i];
            }
        }

        return (lower + values[k]) / T.CreateChecked(2);
    }

    /// <summary>Mean of the values left after removing the <paramref name="trim"/> smallest and largest. Reorders the span.</summary>
    public static T TrimmedMean<T>(Span<T> values, int trim)
        where T : INumber<T>
    {
        int n = values.Length;
        if (trim == 0)
        {
            return Sum(values) / T.CreateChecked(n);
        }

        Select(values, trim);
        var upper = values[trim..];
        Select(upper, n - (2 * trim));
        var middle = values.Slice(trim, n - (2 * trim));
        return Sum(middle) / T.CreateChecked(middle.Length);
    }

    private static T Sum<T>(ReadOnlySpan<T> values)
        where T : INumber<T>
    {
        var s = T.Zero;
        foreach (var v in values)
        {
            s += v;
        }

        return s;
    }
}

/// <summary>
/// Applies a per-coordinate reduction across many updates: coordinates are processed in cache-sized blocks,
/// gathered into a contiguous column per coordinate, and reduced.
/// </summary>
public static class CoordinateWise
{
    private const int Block = 512;

    /// <summary>Reduces each coordinate of the given equally long spans with <paramref name="reduce"/>.</summary>
    public static void Reduce<T>(IReadOnlyList<T[]> inputs, Span<T> output, ColumnReducer<T> reduce)
        where T : INumber<T>
    {
        int n = inputs.Count;
        int length = output.Length;
        var block = new T[n * Block];
        var column = new T[n];
        for (int start = 0; start < length; start += Block)
        {
            int size = Math.Min(Block, length - start);
            for (int c = 0; c < n; c++)
            {
                inputs[c].AsSpan(start, size).CopyTo(block.AsSpan(c * Block, size));
            }

            for (int j = 0; j < size; j++)
            {
                for (int c = 0; c < n; c++)
                {
                    column[c] = block[(c * Block) + j];
                }

                output[start + j] = reduce(column);
            }
        }
    }

    /// <summary>Reduces one coordinate's values (the span may be reordered).</summary>
    public delegate T ColumnReducer<T>(Span<T> values);

    /// <summary>
    /// Builds a model by reducing each coordinate of every tensor across the buffered updates <paramref name="which"/>
    /// (indices into <paramref name="updates"/>), reading them block by block: the same values, in the same order, as
    /// <see cref="ReduceModels(ArrayRecord, IReadOnlyList{ArrayRecord}, ColumnReducer{float}, ColumnReducer{double})"/>.
    /// </summary>
    public static ArrayRecord ReduceModels(Strategies.BufferedUpdates updates, IReadOnlyList<int> which, ColumnReducer<float> reduce32, ColumnReducer<double> reduce64)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(which);
        return UpdateMath.Map(updates.Global, (i, t) =>
        {
            var result = Tensor.Zeros(t.DType, [.. t.Shape]);
            if (t.DType == DType.Float32)
            {
                ReduceBuffered(updates, which, i, result.AsSpan<float>(), reduce32);
            }
            else
            {
                ReduceBuffered(updates, which, i, result.AsSpan<double>(), reduce64);
            }

            return result;
        });
    }

    private static void ReduceBuffered<T>(Strategies.BufferedUpdates updates, IReadOnlyList<int> which, int tensor, Span<T> output, ColumnReducer<T> reduce)
        where T : unmanaged, INumber<T>
    {
        int n = which.Count;
        int length = output.Length;
        var block = new T[n * Block];
        var column = new T[n];
        for (int start = 0; start < length; start += Block)
        {
            int size = Math.Min(Block, length - start);
            for (int c = 0; c < n; c++)
            {
                updates.Read(which[c], tensor, start, block.AsSpan(c * Block, size));
            }

            for (int j = 0; j < size; j++)
            {
                for (int c = 0; c < n; c++)
                {
                    column[c] = block[(c * Block) + j];
                }

                output[start + j] = reduce(column);
            }
        }
    }

    /// <summary>Builds a model by reducing each coordinate of every tensor across <paramref name="models"/>.</summary>
    public static ArrayRecord ReduceModels(ArrayRecord template, IReadOnlyList<ArrayRecord> models, ColumnReducer<float> reduce32, ColumnReducer<double> reduce64)
    {
        return UpdateMath.Map(template, (i, t) =>
        {
            var result = Tensor.Zeros(t.DType, [.. t.Shape]);
            if (t.DType == DType.Float32)
            {
                Reduce(models.Select(m => UpdateMath.At(m, i).GetArray<float>()).ToList(), result.AsSpan<float>(), reduce32);
            }
            else
            {
                Reduce(models.Select(m => UpdateMath.At(m, i).GetArray<double>()).ToList(), result.AsSpan<double>(), reduce64);
            }

            return result;
        });
    }
}
