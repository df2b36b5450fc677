using System.Numerics;

namespace Federate.Core.Aggregation;

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
        => ReduceBlocks(inputs.Count, output, (c, start, block) => inputs[c].AsSpan(start, block.Length).CopyTo(block), reduce);

    /// <summary>Fills <paramref name="block"/> with input <paramref name="input"/>'s values from <paramref name="start"/> on.</summary>
    private delegate void BlockReader<T>(int input, int start, Span<T> block);

    // Coordinates in cache-sized blocks: each input's block is read into a contiguous slab, then every coordinate's
    // column is gathered from the slabs and reduced. One kernel for inputs in memory and on disk, so both give the
    // same values in the same order.
    private static void ReduceBlocks<T>(int n, Span<T> output, BlockReader<T> read, ColumnReducer<T> reduce)
        where T : INumber<T>
    {
        int length = output.Length;
        var block = new T[n * Block];
        var column = new T[n];
        for (int start = 0; start < length; start += Block)
        {
            int size = Math.Min(Block, length - start);
            for (int c = 0; c < n; c++)
            {
                read(c, start, block.AsSpan(c * Block, size));
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
        => ReduceBlocks(which.Count, output, (c, start, block) => updates.Read(which[c], tensor, start, block), reduce);

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
