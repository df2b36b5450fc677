using System.Numerics;
using System.Security.Cryptography;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// Shamir secret sharing of 32-byte secrets over the prime field of the P-256 group order (a 256-bit prime, so a
/// mask private key and a self-mask seed are field elements as they are). Share i is the value at x = i (1-based) of
/// a random polynomial of degree threshold − 1 whose constant term is the secret; any threshold shares rebuild it,
/// fewer reveal nothing about it.
/// </summary>
internal static class ShamirSharing
{
    /// <summary>Bytes of a secret and of a share value.</summary>
    public const int Size = 32;

    /// <summary>The field's prime: the order n of the P-256 group.</summary>
    public static readonly BigInteger Prime = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A uniformly random field element other than zero, as 32 big-endian bytes.</summary>
    public static byte[] RandomSecret()
    {
        var bytes = new byte[Size];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            var value = ToInteger(bytes);
            if (!value.IsZero && value < Prime)
            {
                return bytes;
            }
        }
    }

    /// <summary>True when <paramref name="bytes"/> is 32 bytes encoding a field element.</summary>
    public static bool IsFieldElement(ReadOnlySpan<byte> bytes) => bytes.Length == Size && ToInteger(bytes) < Prime;

    /// <summary>Splits <paramref name="secret"/> into <paramref name="count"/> shares (x = 1..count), any <paramref name="threshold"/> of which rebuild it.</summary>
    public static byte[][] Split(ReadOnlySpan<byte> secret, int count, int threshold)
    {
        if (!IsFieldElement(secret))
        {
            throw new ArgumentException("the secret is not an element of the field", nameof(secret));
        }

        if (threshold < 1 || threshold > count)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold {threshold} must be from 1 to the share count {count}");
        }

        var coefficients = new BigInteger[threshold];
        coefficients[0] = ToInteger(secret);
        for (int i = 1; i < threshold; i++)
        {
            coefficients[i] = ToInteger(RandomSecret());
        }

        var shares = new byte[count][];
        for (int x = 1; x <= count; x++)
        {
            // Horner's rule at x.
            BigInteger y = BigInteger.Zero;
            for (int i = threshold - 1; i >= 0; i--)
            {
                y = ((y * x) + coefficients[i]) % Prime;
            }

            shares[x - 1] = ToBytes(y);
        }

        Array.Clear(coefficients);
        return shares;
    }

    /// <summary>
    /// Rebuilds the secret from shares (x, y) by Lagrange interpolation at zero. With exactly threshold distinct
    /// shares the result is the secret; the caller checks it against a commitment (a public key or a hash). The
    /// Lagrange coefficients depend only on the x-coordinates, which repeat from one owner to the next, so they are
    /// computed once per set of x (one modular inverse each).
    /// </summary>
    public static byte[] Combine(IReadOnlyList<(int X, byte[] Y)> shares)
    {
        ArgumentNullException.ThrowIfNull(shares);
        var xs = shares.Select(s => s.X).ToArray();
        if (xs.Distinct().Count() != xs.Length)
        {
            throw new ArgumentException("two shares have the same x", nameof(shares));
        }

        var key = string.Join(',', xs);
        if (!Coefficients.TryGetValue(key, out var coefficients))
        {
            coefficients = LagrangeAtZero(xs);
            if (Coefficients.Count < 4096)
            {
                Coefficients[key] = coefficients;
            }
        }

        BigInteger secret = BigInteger.Zero;
        for (int i = 0; i < shares.Count; i++)
        {
            secret = (secret + (ToInteger(shares[i].Y) * coefficients[i])) % Prime;
        }

        return ToBytes(secret);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, BigInteger[]> Coefficients = new(StringComparer.Ordinal);

    // l_i(0) = Π_{j≠i} x_j / (x_j − x_i), all over one common denominator so that a single inverse is needed.
    private static BigInteger[] LagrangeAtZero(int[] xs)
    {
        int n = xs.Length;
        var numerators = new BigInteger[n];
        var denominators = new BigInteger[n];
        BigInteger all = BigInteger.One;
        for (int i = 0; i < n; i++)
        {
            numerators[i] = BigInteger.One;
            denominators[i] = BigInteger.One;
            for (int j = 0; j < n; j++)
            {
                if (i != j)
                {
                    numerators[i] = numerators[i] * xs[j] % Prime;
                    denominators[i] = denominators[i] * Mod(xs[j] - xs[i]) % Prime;
                }
            }

            all = all * denominators[i] % Prime;
        }

        var inverse = BigInteger.ModPow(all, Prime - 2, Prime);
        var result = new BigInteger[n];
        for (int i = 0; i < n; i++)
        {
            // 1/den_i = inverse · Π_{j≠i} den_j
            BigInteger others = BigInteger.One;
            for (int j = 0; j < n; j++)
            {
                if (j != i)
                {
                    others = others * denominators[j] % Prime;
                }
            }

            result[i] = numerators[i] * (inverse * others % Prime) % Prime;
        }

        return result;
    }

    private static BigInteger Mod(BigInteger value)
    {
        var r = value % Prime;
        return r.Sign < 0 ? r + Prime : r;
    }

    private static BigInteger ToInteger(ReadOnlySpan<byte> bytes) => new(bytes, isUnsigned: true, isBigEndian: true);

    private static byte[] ToBytes(BigInteger value)
    {
        var bytes = new byte[Size];
        if (!value.TryWriteBytes(bytes.AsSpan(Size - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true))
        {
            throw new InvalidOperationException("field element does not fit in 32 bytes");
        }

        return bytes;
    }
}
