using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federate.Core.Privacy;

/// <summary>
/// A seeded source of uniform and Gaussian noise for differential privacy (xoshiro256** with SplitMix64 seeding,
/// float32 polar method and float64 Box–Muller, both vectorised). The same seed gives the same numbers on the same machine, so a run's
/// noise is reproducible from its seed. This is a statistical generator, not a cryptographic one: see docs/privacy.md
/// (what is not protected).
/// </summary>
public sealed class GaussianNoise
{
    private const int Chunk = 1024;
    private int _poolCount;
    private int _poolNext;
    private readonly VectorXoshiro _lanes;

    // Scratch buffers, allocated on first use (a generator used only for NextDouble allocates none).
    private double[]? _u1;
    private double[]? _u2;
    private double[]? _sin;
    private double[]? _cos;
    private double[]? _scratch;
    private float[]? _floatScratch;
    private float[]? _pool;
    private float[]? _a1;
    private float[]? _a2;
    private float[]? _s;
    
    private double[] BufU1 => _u1 ??= new double[Chunk];

    private double[] BufU2 => _u2 ??= new double[Chunk];

    private double[] BufSin => _sin ??= new double[Chunk];

    private double[] BufCos => _cos ??= new double[Chunk];

    private double[] BufScratch => _scratch ??= new double[2 * Chunk];

    private float[] BufFloatScratch => _floatScratch ??= new float[4 * Chunk];

    private float[] BufPool => _pool ??= new float[(2 * Chunk) + 16];

    private float[] BufA1 => _a1 ??= new float[Chunk];

    private float[] BufA2 => _a2 ??= new float[Chunk];

    private float[] BufS => _s ??= new float[Chunk];

    private Xoshiro256 _state;

    /// <summary>Creates a generator from a seed.</summary>
    public GaussianNoise(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _state = new Xoshiro256(SplitMix(ref x), SplitMix(ref x), SplitMix(ref x), SplitMix(ref x));
        _lanes = new VectorXoshiro(ref x);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// Poisson sampling: each index in [0, <paramref name="n"/>) joins with probability <paramref name="q"/>, decided in
    /// order by one <see cref="NextDouble"/> draw each (<c>NextDouble() &lt; q</c>, the same numbers and choices as that
    /// loop, without its per-call overhead). The chosen indices go to <paramref name="destination"/>; returns how many.
    /// </summary>
    public int SampleIndices(int n, double q, Span<int> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (destination.Length < n)
        {
            throw new ArgumentException($"destination holds {destination.Length} indices; sampling {n} needs room for all of them.", nameof(destination));
        }

        // NextDouble() < q  <=>  (x >> 11) * 2^-53 < q  <=>  (x >> 11) < ceil(q * 2^53), all exact in binary.
        ulong threshold = q > 0 ? (ulong)Math.Ceiling(Math.Min(q, 1.0) * (1UL << 53)) : 0;
        var state = _state; // a local copy stays in registers
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            destination[count] = i;
            count += (state.Next() >> 11) < threshold ? 1 : 0;
        }

        _state = state;
        return count;
    }

    /// <summary>One standard normal value.</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>
    /// Adds N(0, std²) noise to every element of <paramref name="values"/>, the fast float path used by DP-SGD:
    /// four xoshiro256** streams in one 256-bit vector, then the Marsaglia polar method (no trigonometry) with a
    /// polynomial logarithm, vectorised.
    /// </summary>
    public void AddTo(Span<float> values, double std)
    {
        if (!(std >= 0) || !double.IsFinite(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, "The noise standard deviation must be a non-negative finite number.");
        }

        if (std == 0)
        {
            return;
        }

        var buffer = BufFloatScratch;
        for (int start = 0; start < values.Length; start += buffer.Length)
        {
            int count = Math.Min(buffer.Length, values.Length - start);
            FillStandard(buffer.AsSpan(0, count));
            var target = values.Slice(start, count);
            TensorPrimitives.MultiplyAdd(buffer.AsSpan(0, count), (float)std, target, target);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with standard normal floats (the fast path of <see cref="AddTo(Span{float}, double)"/>).</summary>
    public void FillStandard(Span<float> destination)
    {
        int filled = 0;
        while (filled < destination.Length)
        {
            if (_poolNext == _poolCount)
            {
                RefillPool();
            }

            int take = Math.Min(_poolCount - _poolNext, destination.Length - filled);
            BufPool.AsSpan(_poolNext, take).CopyTo(destination.Slice(filled, take));
            _poolNext += take;
            filled += take;
        }
    }

    private unsafe void RefillPool()
    {
        // Candidate points (v1, v2) uniform in the square (-1, 1)²; those strictly inside the unit disc are kept, and
        // each gives z = v * sqrt(-2 ln s / s), two independent standard normals (s > 0 always). One pass computes 16
        // candidates at a time and packs the kept pairs, in candidate order, into the pool.
        _lanes.Fill(BufA1);
        _lanes.Fill(BufA2);
        var one = Vector512.Create(1f);
        var minusTwo = Vector512.Create(-2f);
        var lowPairs = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var highPairs = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        fixed (float* a1 = BufA1, a2 = BufA2, sq = BufS, packed = BufPool)
        {
            int k = 0;
            for (int i = 0; i < Chunk; i += 16)
            {
                var v1 = Vector512.Load(a1 + i);
                var v2 = Vector512.Load(a2 + i);
                var s = (v2 * v2) + (v1 * v1);
                var m = Vector512.Sqrt((VectorMath.Log(s) * minusTwo) / s);
                var z1 = v1 * m;
                var z2 = v2 * m;
                if (Avx512F.IsSupported)
                {
                    // Interleave (z1[j], z2[j]) and keep the pairs with s < 1: compress in registers, store whole vectors.
                    var keep = Vector512.LessThan(s, one);
                    uint bits = (uint)keep.ExtractMostSignificantBits();
                    var keepPairs = keep.AsInt32();
                    var low = Avx512F.Compress(Vector512<float>.Zero, Avx512F.PermuteVar16x32x2(keepPairs, lowPairs, keepPairs).AsSingle(), Avx512F.PermuteVar16x32x2(z1, lowPairs, z2));
                    low.Store(packed + k);
                    k += 2 * BitOperations.PopCount(bits & 0xFF);
                    var high = Avx512F.Compress(Vector512<float>.Zero, Avx512F.PermuteVar16x32x2(keepPairs, highPairs, keepPairs).AsSingle(), Avx512F.PermuteVar16x32x2(z1, highPairs, z2));
                    high.Store(packed + k);
                    k += 2 * BitOperations.PopCount(bits >> 8);
                }
                else
                {
                    z1.Store(a1 + i);
                    z2.Store(a2 + i);
                    s.Store(sq + i);
                }
            }

            if (!Avx512F.IsSupported)
            {
                for (int i = 0; i < Chunk; i++)
                {
                    packed[k] = a1[i];
                    packed[k + 1] = a2[i];
                    k += (int)((uint)BitConverter.SingleToInt32Bits(sq[i] - 1f) >> 31) << 1; // +2 when s < 1, branch-free
                }
            }

            _poolCount = k;
            _poolNext = 0;
        }
    }

    /// <summary>Adds N(0, std²) noise to every element of <paramref name="values"/>.</summary>
    public void AddTo(Span<double> values, double std)
    {
        if (std == 0)
        {
            return;
        }

        var buffer = BufScratch;
        for (int start = 0; start < values.Length; start += buffer.Length)
        {
            int count = Math.Min(buffer.Length, values.Length - start);
            Fill(buffer.AsSpan(0, count), std);
            TensorPrimitives.Add(values.Slice(start, count), buffer.AsSpan(0, count), values.Slice(start, count));
        }
    }

    /// <summary>Fills <paramref name="destination"/> with N(0, std²) values.</summary>
    public void Fill(Span<double> destination, double std)
    {
        if (!(std >= 0) || !double.IsFinite(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, "The noise standard deviation must be a non-negative finite number.");
        }

        int done = 0;
        while (done < destination.Length)
        {
            int pairs = Math.Min(Chunk, (destination.Length - done + 1) / 2);
            var u1 = BufU1.AsSpan(0, pairs);
            var u2 = BufU2.AsSpan(0, pairs);
            for (int i = 0; i < pairs; i++)
            {
                u1[i] = 1.0 - NextDouble(); // (0, 1]: the logarithm stays finite
                u2[i] = NextDouble();
            }

            // Box–Muller: r = sqrt(-2 ln u1), (r cos 2πu2, r sin 2πu2) are two independent standard normals.
            TensorPrimitives.Log(u1, u1);
            TensorPrimitives.Multiply(u1, -2.0 * std * std, u1);
            TensorPrimitives.Sqrt(u1, u1);
            TensorPrimitives.Multiply(u2, 2 * Math.PI, u2);
            var sin = BufSin.AsSpan(0, pairs);
            var cos = BufCos.AsSpan(0, pairs);
            TensorPrimitives.SinCos(u2, sin, cos);
            TensorPrimitives.Multiply(cos, u1, cos);
            TensorPrimitives.Multiply(sin, u1, sin);
            int first = Math.Min(pairs, destination.Length - done);
            cos[..first].CopyTo(destination.Slice(done, first));
            done += first;
            int second = Math.Min(pairs, destination.Length - done);
            sin[..second].CopyTo(destination.Slice(done, second));
            done += second;
        }
    }

    private ulong Next() => _state.Next();

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        ulong z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The scalar xoshiro256** state.</summary>
    private struct Xoshiro256(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        private ulong _s0 = s0;
        private ulong _s1 = s1;
        private ulong _s2 = s2;
        private ulong _s3 = s3;

        /// <summary>The next 64 random bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Next()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }
    }
}
