using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Federate.Core.Records;

/// <summary>
/// A dense, contiguous, row-major tensor: a dtype, a shape and the elements in one CLR array. The array is used as
/// given (no copy), so a model can hand its parameter buffers to a record without duplicating them.
/// </summary>
public sealed class Tensor
{
    private readonly Array _data;

    private Tensor(DType dtype, long[] shape, Array data)
    {
        DType = dtype;
        Shape = shape;
        _data = data;
        Length = data.LongLength;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Dimensions; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Size of the data in bytes.</summary>
    public long ByteLength => Length * DType.SizeOf();

    /// <summary>Wraps a float32 array (no copy).</summary>
    public static Tensor FromArray(float[] data, params long[] shape) => Create(DType.Float32, data, shape);

    /// <summary>Wraps a float64 array (no copy).</summary>
    public static Tensor FromArray(double[] data, params long[] shape) => Create(DType.Float64, data, shape);

    /// <summary>Wraps an int64 array (no copy).</summary>
    public static Tensor FromArray(long[] data, params long[] shape) => Create(DType.Int64, data, shape);

    /// <summary>Wraps an int32 array (no copy).</summary>
    public static Tensor FromArray(int[] data, params long[] shape) => Create(DType.Int32, data, shape);

    /// <summary>Wraps a byte array as uint8 (no copy).</summary>
    public static Tensor FromArray(byte[] data, params long[] shape) => Create(DType.UInt8, data, shape);

    /// <summary>A zero-filled tensor of the given dtype and shape.</summary>
    public static Tensor Zeros(DType dtype, params long[] shape)
    {
        long n = ElementCount(shape);
        var array = Array.CreateInstance(dtype.ElementType(), n);
        return new Tensor(dtype, (long[])shape.Clone(), array);
    }

    /// <summary>A tensor whose elements are read from little-endian bytes (copied).</summary>
    public static Tensor FromBytes(DType dtype, ReadOnlySpan<byte> bytes, params long[] shape)
    {
        var t = Zeros(dtype, shape);
        if (bytes.Length != t.ByteLength)
        {
            throw new ArgumentException($"Tensor of dtype {dtype} and shape [{string.Join(",", shape)}] needs {t.ByteLength} bytes, got {bytes.Length}.", nameof(bytes));
        }

        bytes.CopyTo(t.AsBytes());
        return t;
    }

    private static Tensor Create(DType dtype, Array data, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length == 0 && data.LongLength != 1)
        {
            shape = [data.LongLength];
        }

        long n = ElementCount(shape);
        if (n != data.LongLength)
        {
            throw new ArgumentException($"Shape [{string.Join(",", shape)}] holds {n} elements but the array has {data.LongLength}.", nameof(shape));
        }

        return new Tensor(dtype, (long[])shape.Clone(), data);
    }

    /// <summary>Product of the dimensions.</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException("Dimensions must be non-negative.", nameof(shape));
            }

            n = checked(n * d);
        }

        return n;
    }

    /// <summary>The elements as a span of <typeparamref name="T"/>; T must match the dtype.</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        if (_data is not T[] array)
        {
            throw new InvalidOperationException($"Tensor has dtype {DType}; it cannot be viewed as {typeof(T).Name}.");
        }

        return array;
    }

    /// <summary>The backing array when it is a <typeparamref name="T"/>[] (no copy).</summary>
    public T[] GetArray<T>()
        where T : unmanaged => _data as T[] ?? throw new InvalidOperationException($"Tensor has dtype {DType}; it cannot be viewed as {typeof(T).Name}.");

    /// <summary>The raw little-endian bytes of the elements.</summary>
    public Span<byte> AsBytes() =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(_data), checked((int)ByteLength));

    /// <summary>A deep copy.</summary>
    public Tensor Clone()
    {
        var copy = Zeros(DType, [.. Shape]);
        AsBytes().CopyTo(copy.AsBytes());
        return copy;
    }

    /// <summary>True when dtype and shape are the same as <paramref name="other"/>'s.</summary>
    public bool HasSameLayout(Tensor other) => DType == other.DType && Shape.SequenceEqual(other.Shape);

    /// <summary>A short description: dtype and shape.</summary>
    public override string ToString() => $"{DType}[{string.Join(",", Shape)}]";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Array RawArray() => _data;
}
