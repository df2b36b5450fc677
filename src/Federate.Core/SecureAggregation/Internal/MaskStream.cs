using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Security.Cryptography;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Expands a 32-byte seed into a mask of 32-bit words with AES-256 in counter mode (ECB over counter blocks, one call
/// per 64 KiB, AES-NI through the platform's crypto library), and adds it to or subtracts it from a vector modulo
/// 2^32 with vector instructions. A modulus below 2^32 divides 2^32, so the result is reduced by a mask afterwards.
/// </summary>
internal static class MaskStream
{
    private const int BlockWords = 16 * 1024; // 64 KiB of key stream per AES call

    /// <summary>Adds (<paramref name="sign"/> = 1) or subtracts (−1) the mask of <paramref name="seed"/> to <paramref name="vector"/>, modulo 2^32.</summary>
    public static void Apply(ReadOnlySpan<byte> seed, Span<uint> vector, int sign)
    {
        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        var counters = ArrayPool<byte>.Shared.Rent(BlockWords * sizeof(uint));
        var stream = ArrayPool<byte>.Shared.Rent(BlockWords * sizeof(uint));
        try
        {
            ulong counter = 0;
            for (int offset = 0; offset < vector.Length; offset += BlockWords)
            {
                int words = Math.Min(BlockWords, vector.Length - offset);
                int bytes = ((words * sizeof(uint)) + 15) & ~15;
                var c = counters.AsSpan(0, bytes);
                c.Clear();
                for (int b = 0; b < bytes; b += 16)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(c.Slice(b, 8), counter++);
                }

                aes.EncryptEcb(c, stream.AsSpan(0, bytes), PaddingMode.None);
                var mask = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(stream.AsSpan(0, words * sizeof(uint)));
                if (!BitConverter.IsLittleEndian)
                {
                    BinaryPrimitives.ReverseEndianness(mask, mask);
                }

                var target = vector.Slice(offset, words);
                if (sign >= 0)
                {
                    TensorPrimitives.Add<uint>(target, mask, target);
                }
                else
                {
                    TensorPrimitives.Subtract<uint>(target, mask, target);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(counters);
            ArrayPool<byte>.Shared.Return(stream, clearArray: true);
        }
    }

    /// <summary>Reduces every element modulo <paramref name="modulus"/> (a power of two up to 2^32).</summary>
    public static void Reduce(Span<uint> vector, long modulus)
    {
        if (modulus < (1L << 32))
        {
            TensorPrimitives.BitwiseAnd<uint>(vector, (uint)(modulus - 1), vector);
        }
    }
}
