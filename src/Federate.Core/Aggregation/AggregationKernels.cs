using System.Numerics.Tensors;
using Tensor = Federate.Core.Records.Tensor;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federate.Core.Aggregation;

/// <summary>Memory-speed kernels for folding updates into running sums (TensorPrimitives, Vector512/256).</summary>
public static class AggregationKernels
{
    /// <summary><c>acc[i] += weight * x[i]</c>.</summary>
    public static void FoldWeighted(Span<float> acc, ReadOnlySpan<float> x, float weight)
    {
        if (acc.Length != x.Length)
        {
            throw new ArgumentException("Update and accumulator lengths differ.", nameof(x));
        }

        TensorPrimitives.MultiplyAdd(x, weight, acc, acc);
    }

    /// <summary><c>acc[i] += weight * x[i]</c> for float64.</summary>
    public static void FoldWeighted(Span<double> acc, ReadOnlySpan<double> x, double weight)
    {
        if (acc.Length != x.Length)
        {
            throw new ArgumentException("Update and accumulator lengths differ.", nameof(x));
        }

        TensorPrimitives.MultiplyAdd(x, weight, acc, acc);
    }

    /// <summary><c>acc[i] *= scale</c>.</summary>
    public static void Scale(Span<float> acc, float scale) => TensorPrimitives.Multiply(acc, scale, acc);

    /// <summary><c>acc[i] *= scale</c> for float64.</summary>
    public static void Scale(Span<double> acc, double scale) => TensorPrimitives.Multiply(acc, scale, acc);

    /// <summary>
    /// <c>acc[i] = weight * x[i] + acc[i]</c>, or <c>weight * x[i] + 0</c> when <paramref name="initialize"/> (acc's old
    /// contents are then never read: a fresh, uninitialised buffer needs no zeroing pass), with the same roundings as
    /// <see cref="FoldWeighted(Span{float}, ReadOnlySpan{float}, float)"/> on a zeroed buffer.
    /// </summary>
    public static void FoldWeighted(Span<float> acc, ReadOnlySpan<float> x, float weight, bool initialize) =>
        Fold(acc, x, weight, initialize, check: false);

    /// <summary><c>acc[i] = weight * x[i] + acc[i]</c> (or <c>+ 0</c> when <paramref name="initialize"/>) for float64.</summary>
    public static void FoldWeighted(Span<double> acc, ReadOnlySpan<double> x, double weight, bool initialize) =>
        Fold(acc, x, weight, initialize, check: false);

    /// <summary>
    /// Validation fused into the fold: <see cref="FoldWeighted(Span{float}, ReadOnlySpan{float}, float, bool)"/> in one
    /// pass, each vector of <paramref name="x"/> checked for NaN and infinity in registers before it is folded, so the
    /// update is read from memory once. Returns <c>x.Length</c> when every element is finite; otherwise a count c no
    /// greater than the index of the first non-finite element (at most one vector before it): elements [0, c) were
    /// folded, and from c on <paramref name="acc"/> is untouched.
    /// </summary>
    public static int FoldWeightedChecked(Span<float> acc, ReadOnlySpan<float> x, float weight, bool initialize) =>
        Fold(acc, x, weight, initialize, check: true);

    /// <summary>Validation fused into the fold for float64 (see the float32 overload).</summary>
    public static int FoldWeightedChecked(Span<double> acc, ReadOnlySpan<double> x, double weight, bool initialize) =>
        Fold(acc, x, weight, initialize, check: true);

    /// <summary>
    /// The fold of the float32 and float64 overloads (with <paramref name="check"/> the checked one): per element
    /// <c>x·w</c> rounded, then <c>+ acc</c> (or <c>+ 0</c>) rounded, exactly as TensorPrimitives.MultiplyAdd rounds
    /// (no fused multiply-add), so the bits do not depend on the vector width or on where a span starts.
    /// </summary>
    internal static int Fold<T>(Span<T> acc, ReadOnlySpan<T> x, T weight, bool initialize, bool check)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Fold(acc, x, weight, initialize ? FoldKind.Initialize : FoldKind.Add, T.One, check, T.One);

    /// <summary>
    /// One pass over <paramref name="x"/> into <paramref name="acc"/>, per <paramref name="kind"/>:
    /// <see cref="FoldKind.Add"/> <c>acc = x·w + acc</c>; <see cref="FoldKind.Initialize"/> <c>acc = x·w + 0</c>;
    /// <see cref="FoldKind.Copy"/> <c>acc = x</c>; <see cref="FoldKind.Rebase"/> <c>acc = x·w + (acc·prior + 0)</c>
    /// (acc held an update not weighted yet, whose weight is <paramref name="prior"/>: the same bits as if it had been
    /// folded with <see cref="FoldKind.Initialize"/> first). Every product and sum is rounded on its own. With
    /// <paramref name="check"/>, stops before the vector holding the first NaN or infinity of x and returns the number
    /// of elements done (<c>x.Length</c> when all were finite); acc is untouched from there on.
    /// <see cref="FoldKind.Add"/> and <see cref="FoldKind.Rebase"/> results are then multiplied by
    /// <paramref name="scale"/> (rounded on its own; 1 leaves them exactly as they were): the last update of a mean
    /// folds and scales in one pass, with the bits of the fold followed by <see cref="Scale(Span{float}, float)"/>.
    /// </summary>
    internal static int Fold<T>(Span<T> acc, ReadOnlySpan<T> x, T weight, FoldKind kind, T prior, bool check, T scale)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (acc.Length != x.Length)
        {
            throw new ArgumentException("Update and accumulator lengths differ.", nameof(x));
        }

        ref T a = ref MemoryMarshal.GetReference(acc);
        ref T v = ref MemoryMarshal.GetReference(x);
        int n = x.Length;
        int i = 0;

        // An IEEE float is NaN or infinite exactly when its exponent bits are all ones: x & +inf keeps only the
        // exponent, and equals +inf exactly then (never NaN: the mantissa is cleared).
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var w = Vector512.Create(weight);
            var p = Vector512.Create(prior);
            var s = Vector512.Create(scale);
            var inf = Vector512.Create(T.PositiveInfinity);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var xv = Vector512.LoadUnsafe(ref v, (nuint)i);
                if (check && Vector512.EqualsAny(xv & inf, inf))
                {
                    return i;
                }

                var result = kind switch
                {
                    FoldKind.Copy => xv,
                    FoldKind.Initialize => (xv * w) + Vector512<T>.Zero,
                    FoldKind.Add => ((xv * w) + Vector512.LoadUnsafe(ref a, (nuint)i)) * s,
                    _ => ((xv * w) + ((Vector512.LoadUnsafe(ref a, (nuint)i) * p) + Vector512<T>.Zero)) * s,
                };
                result.StoreUnsafe(ref a, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var w = Vector256.Create(weight);
            var p = Vector256.Create(prior);
            var s = Vector256.Create(scale);
            var inf = Vector256.Create(T.PositiveInfinity);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var xv = Vector256.LoadUnsafe(ref v, (nuint)i);
                if (check && Vector256.EqualsAny(xv & inf, inf))
                {
                    return i;
                }

                var result = kind switch
                {
                    FoldKind.Copy => xv,
                    FoldKind.Initialize => (xv * w) + Vector256<T>.Zero,
                    FoldKind.Add => ((xv * w) + Vector256.LoadUnsafe(ref a, (nuint)i)) * s,
                    _ => ((xv * w) + ((Vector256.LoadUnsafe(ref a, (nuint)i) * p) + Vector256<T>.Zero)) * s,
                };
                result.StoreUnsafe(ref a, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            T xi = Unsafe.Add(ref v, i);
            if (check && !T.IsFinite(xi))
            {
                return i;
            }

            T product = xi * weight;
            Unsafe.Add(ref a, i) = kind switch
            {
                FoldKind.Copy => xi,
                FoldKind.Initialize => product + T.Zero,
                FoldKind.Add => (product + Unsafe.Add(ref a, i)) * scale,
                _ => (product + ((Unsafe.Add(ref a, i) * prior) + T.Zero)) * scale,
            };
        }

        return n;
    }

    /// <summary>
    /// Accumulators of at least this many bytes get their first write (<see cref="FoldKind.Copy"/> and
    /// <see cref="FoldKind.Initialize"/>) with non-temporal stores: such a sum does not stay in the caches until the
    /// next update's fold anyway, and a plain store first reads every line it writes (a third stream of memory traffic
    /// beside reading the update and writing the sum). Half this machine class's 32 MiB L3.
    /// </summary>
    internal const long NonTemporalBytes = 16L << 20;

    /// <summary>
    /// <see cref="Fold{T}(Span{T}, ReadOnlySpan{T}, T, FoldKind, T, bool, T)"/>; with <paramref name="nonTemporal"/>, a
    /// <see cref="FoldKind.Copy"/> or <see cref="FoldKind.Initialize"/> fold writes its aligned vectors with
    /// non-temporal stores (the same values, written past the caches; a store fence ends the pass).
    /// </summary>
    internal static unsafe int Fold<T>(Span<T> acc, ReadOnlySpan<T> x, T weight, FoldKind kind, T prior, bool check, T scale, bool nonTemporal)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (!nonTemporal || kind is not (FoldKind.Copy or FoldKind.Initialize) || !Sse.IsSupported
            || (!Vector512.IsHardwareAccelerated && !Vector256.IsHardwareAccelerated) || acc.Length != x.Length)
        {
            return Fold(acc, x, weight, kind, prior, check, scale);
        }

        int width = Vector512.IsHardwareAccelerated ? Vector512<T>.Count : Vector256<T>.Count;
        fixed (T* a = acc)
        fixed (T* v = x)
        {
            // Plain stores up to the first vector-aligned element (arrays of T are T-aligned), then whole aligned vectors.
            int alignment = width * sizeof(T);
            int head = (int)Math.Min(acc.Length, ((alignment - ((nint)a & (alignment - 1))) & (alignment - 1)) / sizeof(T));
            int done = Fold(acc[..head], x[..head], weight, kind, prior, check, scale);
            if (done < head)
            {
                return done;
            }

            int n = acc.Length;
            int i = head;
            bool copy = kind == FoldKind.Copy;
            if (Vector512.IsHardwareAccelerated)
            {
                var w = Vector512.Create(weight);
                var inf = Vector512.Create(T.PositiveInfinity);
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                {
                    var xv = Vector512.Load(v + i);
                    if (check && Vector512.EqualsAny(xv & inf, inf))
                    {
                        break;
                    }

                    (copy ? xv : (xv * w) + Vector512<T>.Zero).StoreAlignedNonTemporal(a + i);
                }
            }
            else
            {
                var w = Vector256.Create(weight);
                var inf = Vector256.Create(T.PositiveInfinity);
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                {
                    var xv = Vector256.Load(v + i);
                    if (check && Vector256.EqualsAny(xv & inf, inf))
                    {
                        break;
                    }

                    (copy ? xv : (xv * w) + Vector256<T>.Zero).StoreAlignedNonTemporal(a + i);
                }
            }

            // Non-temporal stores are weakly ordered: make them visible before anything else the caller writes.
            Sse.StoreFence();
            return i + Fold(acc[i..], x[i..], weight, kind, prior, check, scale);
        }
    }

    /// <summary>
    /// <c>acc = (acc·prior + 0)·scale</c>, each operation rounded on its own: weighs an update that was copied in
    /// unweighted (<see cref="FoldKind.Copy"/>) and scales it in one pass, with the bits of an
    /// <see cref="FoldKind.Initialize"/> fold followed by <see cref="Scale(Span{float}, float)"/>.
    /// </summary>
    internal static void Rescale<T>(Span<T> acc, T prior, T scale)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ref T a = ref MemoryMarshal.GetReference(acc);
        int n = acc.Length;
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var p = Vector512.Create(prior);
            var s = Vector512.Create(scale);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                (((Vector512.LoadUnsafe(ref a, (nuint)i) * p) + Vector512<T>.Zero) * s).StoreUnsafe(ref a, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var p = Vector256.Create(prior);
            var s = Vector256.Create(scale);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                (((Vector256.LoadUnsafe(ref a, (nuint)i) * p) + Vector256<T>.Zero) * s).StoreUnsafe(ref a, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref a, i) = ((Unsafe.Add(ref a, i) * prior) + T.Zero) * scale;
        }
    }

    private static bool AllFiniteOf<T>(ReadOnlySpan<T> x)
        where T : unmanaged => typeof(T) == typeof(float)
        ? AllExponentsBelow(MemoryMarshal.Cast<T, uint>(x), 0x7F800000u)
        : typeof(T) == typeof(double)
            ? AllExponentsBelow(MemoryMarshal.Cast<T, ulong>(x), 0x7FF0000000000000ul)
            : throw new NotSupportedException(typeof(T).Name);

    /// <summary>True when every element is finite (no NaN, no infinity): one vectorised read of the data.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x) =>
        AllExponentsBelow(MemoryMarshal.Cast<float, uint>(x), 0x7F800000u);

    /// <summary>True when every element is finite (no NaN, no infinity): one vectorised read of the data.</summary>
    public static bool AllFinite(ReadOnlySpan<double> x) =>
        AllExponentsBelow(MemoryMarshal.Cast<double, ulong>(x), 0x7FF0000000000000ul);

    /// <summary>
    /// True when no element has all the exponent bits of <paramref name="exponent"/> set: an IEEE float is NaN or
    /// infinite exactly when its exponent bits are all ones.
    /// </summary>
    private static bool AllExponentsBelow<T>(ReadOnlySpan<T> bits, T exponent)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        int i = 0;
        ref T start = ref MemoryMarshal.GetReference(bits);
        if (Vector512.IsHardwareAccelerated && bits.Length >= Vector512<T>.Count * 4)
        {
            var mask = Vector512.Create(exponent);
            int step = Vector512<T>.Count;
            for (; i <= bits.Length - (4 * step); i += 4 * step)
            {
                var a = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i) & mask, mask);
                var b = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + step)) & mask, mask);
                var c = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + (2 * step))) & mask, mask);
                var d = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)(i + (3 * step))) & mask, mask);
                if ((a | b | c | d) != Vector512<T>.Zero)
                {
                    return false;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated && bits.Length >= Vector256<T>.Count)
        {
            var mask = Vector256.Create(exponent);
            int step = Vector256<T>.Count;
            for (; i <= bits.Length - step; i += step)
            {
                if (Vector256.Equals(Vector256.LoadUnsafe(ref start, (nuint)i) & mask, mask) != Vector256<T>.Zero)
                {
                    return false;
                }
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & exponent) == exponent)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when every element of <paramref name="dtype"/> in the little-endian <paramref name="bytes"/> is finite; integers always are.</summary>
    public static bool AllFinite(DType dtype, ReadOnlySpan<byte> bytes) => dtype switch
    {
        DType.Float32 => AllFinite(MemoryMarshal.Cast<byte, float>(bytes)),
        DType.Float64 => AllFinite(MemoryMarshal.Cast<byte, double>(bytes)),
        DType.Float16 => AllFiniteHalf(MemoryMarshal.Cast<byte, Half>(bytes)),
        _ => true,
    };

    private static bool AllFiniteHalf(ReadOnlySpan<Half> x)
    {
        foreach (var v in x)
        {
            if (!Half.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when every floating-point element of the tensor is finite; integer tensors always are.</summary>
    public static bool AllFinite(Tensor t) => t.DType switch
    {
        DType.Float32 => AllFinite(t.AsSpan<float>()),
        DType.Float64 => AllFinite(t.AsSpan<double>()),
        DType.Float16 => AllFiniteHalf(t.AsSpan<Half>()),
        _ => true,
    };
}
