namespace Federate.Core.Strategies;

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
