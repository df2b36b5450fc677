using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Federate.Learning.Internal;

/// <summary>
/// Single-threaded, register-tiled matrix multiply for the built-in models:
/// C = alpha * A * B (+ C when accumulating). A is addressed with generic strides (element (i, p) at
/// <c>a[i * rowStride + p * colStride]</c>), so the same kernel computes A * B, A^T * B and small layers;
/// B and C are row-major with leading dimensions. Results are deterministic: the summation order depends only on
/// the shapes, never on timing.
/// </summary>
internal static unsafe class Gemm
{
    private const int Nr512 = 32;
    private const int Nr256 = 16;

    [ThreadStatic]
    private static float[]? t_panel;

    /// <summary>C[i, j] = alpha * sum_p A(i, p) * B[p, j] (+ C[i, j] when <paramref name="accumulate"/>).</summary>
    public static void Multiply(int m, int n, int k, float alpha, float* a, int aRowStride, int aColStride, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        if (m <= 0 || n <= 0)
        {
            return;
        }

        if (k <= 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                {
                    new Span<float>(c + ((long)i * ldc), n).Clear();
                }
            }

            return;
        }

        if (Vector512.IsHardwareAccelerated)
        {
            Multiply512(m, n, k, alpha, a, aRowStride, aColStride, b, ldb, c, ldc, accumulate);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Multiply256(m, n, k, alpha, a, aRowStride, aColStride, b, ldb, c, ldc, accumulate);
        }
        else
        {
            MultiplyScalar(m, n, k, alpha, a, aRowStride, aColStride, b, ldb, c, ldc, accumulate);
        }
    }

    /// <summary>Reference implementation (also the fallback without SIMD).</summary>
    public static void MultiplyScalar(int m, int n, int k, float alpha, float* a, int aRowStride, int aColStride, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    s += a[((long)i * aRowStride) + ((long)p * aColStride)] * b[((long)p * ldb) + j];
                }

                float* cij = c + ((long)i * ldc) + j;
                *cij = accumulate ? (s * alpha) + *cij : s * alpha;
            }
        }
    }

    private static float* PackPanel(int k, int width, int nr, float* b, int ldb)
    {
        int needed = k * nr;
        var panel = t_panel;
        if (panel is null || panel.Length < needed)
        {
            panel = GC.AllocateArray<float>(Math.Max(needed, 4096), pinned: true);
            t_panel = panel;
        }

        float* p = (float*)Unsafe.AsPointer(ref panel[0]);
        for (int q = 0; q < k; q++)
        {
            var dst = new Span<float>(p + ((long)q * nr), nr);
            new ReadOnlySpan<float>(b + ((long)q * ldb), width).CopyTo(dst);
            dst[width..].Clear();
        }

        return p;
    }

    private static void MergeTile(float* tile, int nr, int rows, int width, float* c, int ldc, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + ((long)r * ldc);
            float* tr = tile + (r * nr);
            for (int j = 0; j < width; j++)
            {
                cr[j] = accumulate ? cr[j] + tr[j] : tr[j];
            }
        }
    }

    private static void Multiply512(int m, int n, int k, float alpha, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        int nFull = n - (n % Nr512);
        for (int j0 = 0; j0 < nFull; j0 += Nr512)
        {
            int i0 = 0;
            for (; i0 + 8 <= m; i0 += 8)
            {
                Kernel512x8(k, alpha, a + ((long)i0 * ars), ars, acs, b + j0, ldb, c + ((long)i0 * ldc) + j0, ldc, accumulate);
            }

            for (; i0 + 4 <= m; i0 += 4)
            {
                Kernel512x4(k, alpha, a + ((long)i0 * ars), ars, acs, b + j0, ldb, c + ((long)i0 * ldc) + j0, ldc, accumulate);
            }

            for (; i0 < m; i0++)
            {
                Kernel512x1(k, alpha, a + ((long)i0 * ars), acs, b + j0, ldb, c + ((long)i0 * ldc) + j0, accumulate);
            }
        }

        if (nFull < n)
        {
            int width = n - nFull;
            float* panel = PackPanel(k, width, Nr512, b + nFull, ldb);
            float* tile = stackalloc float[8 * Nr512];
            int i0 = 0;
            for (; i0 + 8 <= m; i0 += 8)
            {
                Kernel512x8(k, alpha, a + ((long)i0 * ars), ars, acs, panel, Nr512, tile, Nr512, false);
                MergeTile(tile, Nr512, 8, width, c + ((long)i0 * ldc) + nFull, ldc, accumulate);
            }

            for (; i0 + 4 <= m; i0 += 4)
            {
                Kernel512x4(k, alpha, a + ((long)i0 * ars), ars, acs, panel, Nr512, tile, Nr512, false);
                MergeTile(tile, Nr512, 4, width, c + ((long)i0 * ldc) + nFull, ldc, accumulate);
            }

            for (; i0 < m; i0++)
            {
                Kernel512x1(k, alpha, a + ((long)i0 * ars), acs, panel, Nr512, tile, false);
                MergeTile(tile, Nr512, 1, width, c + ((long)i0 * ldc) + nFull, ldc, accumulate);
            }
        }
    }

    private static void Kernel512x4(int k, float alpha, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        var c00 = Vector512<float>.Zero;
        var c01 = Vector512<float>.Zero;
        var c10 = Vector512<float>.Zero;
        var c11 = Vector512<float>.Zero;
        var c20 = Vector512<float>.Zero;
        var c21 = Vector512<float>.Zero;
        var c30 = Vector512<float>.Zero;
        var c31 = Vector512<float>.Zero;
        float* a0 = a;
        float* a1 = a + ars;
        float* a2 = a1 + ars;
        float* a3 = a2 + ars;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(*a0);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(*a1);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(*a2);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(*a3);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            a0 += acs;
            a1 += acs;
            a2 += acs;
            a3 += acs;
            b += ldb;
        }

        var va = Vector512.Create(alpha);
        Store512(c, c00 * va, c01 * va, accumulate);
        Store512(c + ldc, c10 * va, c11 * va, accumulate);
        Store512(c + (2L * ldc), c20 * va, c21 * va, accumulate);
        Store512(c + (3L * ldc), c30 * va, c31 * va, accumulate);
    }

    /// <summary>8 rows x 32 columns: 16 accumulators (AVX-512 has 32 registers), two B loads per 16 FMAs.</summary>
    private static void Kernel512x8(int k, float alpha, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        var c00 = Vector512<float>.Zero;
        var c01 = Vector512<float>.Zero;
        var c10 = Vector512<float>.Zero;
        var c11 = Vector512<float>.Zero;
        var c20 = Vector512<float>.Zero;
        var c21 = Vector512<float>.Zero;
        var c30 = Vector512<float>.Zero;
        var c31 = Vector512<float>.Zero;
        var c40 = Vector512<float>.Zero;
        var c41 = Vector512<float>.Zero;
        var c50 = Vector512<float>.Zero;
        var c51 = Vector512<float>.Zero;
        var c60 = Vector512<float>.Zero;
        var c61 = Vector512<float>.Zero;
        var c70 = Vector512<float>.Zero;
        var c71 = Vector512<float>.Zero;
        float* a0 = a;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a0[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a0[ars]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a0[2 * ars]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a0[3 * ars]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a0[4 * ars]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a0[5 * ars]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a0[6 * ars]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a0[7 * ars]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a0 += acs;
            b += ldb;
        }

        var va = Vector512.Create(alpha);
        Store512(c, c00 * va, c01 * va, accumulate);
        Store512(c + ldc, c10 * va, c11 * va, accumulate);
        Store512(c + (2L * ldc), c20 * va, c21 * va, accumulate);
        Store512(c + (3L * ldc), c30 * va, c31 * va, accumulate);
        Store512(c + (4L * ldc), c40 * va, c41 * va, accumulate);
        Store512(c + (5L * ldc), c50 * va, c51 * va, accumulate);
        Store512(c + (6L * ldc), c60 * va, c61 * va, accumulate);
        Store512(c + (7L * ldc), c70 * va, c71 * va, accumulate);
    }

    private static void Kernel512x1(int k, float alpha, float* a, int acs, float* b, int ldb, float* c, bool accumulate)
    {
        var c00 = Vector512<float>.Zero;
        var c01 = Vector512<float>.Zero;
        for (int p = 0; p < k; p++)
        {
            var x = Vector512.Create(*a);
            c00 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c00);
            c01 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c01);
            a += acs;
            b += ldb;
        }

        var va = Vector512.Create(alpha);
        Store512(c, c00 * va, c01 * va, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
        }

        v0.Store(c);
        v1.Store(c + 16);
    }

    private static void Multiply256(int m, int n, int k, float alpha, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        int nFull = n - (n % Nr256);
        for (int j0 = 0; j0 < nFull; j0 += Nr256)
        {
            int i0 = 0;
            for (; i0 + 4 <= m; i0 += 4)
            {
                Kernel256x4(k, alpha, a + ((long)i0 * ars), ars, acs, b + j0, ldb, c + ((long)i0 * ldc) + j0, ldc, accumulate);
            }

            for (; i0 < m; i0++)
            {
                Kernel256x1(k, alpha, a + ((long)i0 * ars), acs, b + j0, ldb, c + ((long)i0 * ldc) + j0, accumulate);
            }
        }

        if (nFull < n)
        {
            int width = n - nFull;
            float* panel = PackPanel(k, width, Nr256, b + nFull, ldb);
            float* tile = stackalloc float[4 * Nr256];
            int i0 = 0;
            for (; i0 + 4 <= m; i0 += 4)
            {
                Kernel256x4(k, alpha, a + ((long)i0 * ars), ars, acs, panel, Nr256, tile, Nr256, false);
                MergeTile(tile, Nr256, 4, width, c + ((long)i0 * ldc) + nFull, ldc, accumulate);
            }

            for (; i0 < m; i0++)
            {
                Kernel256x1(k, alpha, a + ((long)i0 * ars), acs, panel, Nr256, tile, false);
                MergeTile(tile, Nr256, 1, width, c + ((long)i0 * ldc) + nFull, ldc, accumulate);
            }
        }
    }

    private static void Kernel256x4(int k, float alpha, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        var c00 = Vector256<float>.Zero;
        var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero;
        var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero;
        var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero;
        var c31 = Vector256<float>.Zero;
        float* a0 = a;
        float* a1 = a + ars;
        float* a2 = a1 + ars;
        float* a3 = a2 + ars;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(*a0);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(*a1);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(*a2);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(*a3);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            a0 += acs;
            a1 += acs;
            a2 += acs;
            a3 += acs;
            b += ldb;
        }

        var va = Vector256.Create(alpha);
        Store256(c, c00 * va, c01 * va, accumulate);
        Store256(c + ldc, c10 * va, c11 * va, accumulate);
        Store256(c + (2L * ldc), c20 * va, c21 * va, accumulate);
        Store256(c + (3L * ldc), c30 * va, c31 * va, accumulate);
    }

    private static void Kernel256x1(int k, float alpha, float* a, int acs, float* b, int ldb, float* c, bool accumulate)
    {
        var c00 = Vector256<float>.Zero;
        var c01 = Vector256<float>.Zero;
        for (int p = 0; p < k; p++)
        {
            var x = Vector256.Create(*a);
            c00 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b), c00);
            c01 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 8), c01);
            a += acs;
            b += ldb;
        }

        var va = Vector256.Create(alpha);
        Store256(c, c00 * va, c01 * va, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }

        v0.Store(c);
        v1.Store(c + 8);
    }

    /// <summary>dst[j, i] = src[i, j] for a rows x cols row-major source.</summary>
    public static void Transpose(float* src, int rows, int cols, float* dst)
    {
        // 16 x 16 blocks, so both the reads and the strided writes stay within a few cache lines.
        const int Block = 16;
        for (int i0 = 0; i0 < rows; i0 += Block)
        {
            int i1 = Math.Min(rows, i0 + Block);
            for (int j0 = 0; j0 < cols; j0 += Block)
            {
                int j1 = Math.Min(cols, j0 + Block);
                for (int i = i0; i < i1; i++)
                {
                    float* s = src + ((long)i * cols);
                    for (int j = j0; j < j1; j++)
                    {
                        dst[((long)j * rows) + i] = s[j];
                    }
                }
            }
        }
    }

    /// <summary>d[i] = a[i] &gt; 0 ? d[i] : 0 (the ReLU derivative applied to a gradient).</summary>
    public static void MaskByPositive(float* d, float* a, int length)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= length; i += 16)
            {
                var keep = Vector512.GreaterThan(Vector512.Load(a + i), Vector512<float>.Zero);
                (Vector512.Load(d + i) & keep).Store(d + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= length; i += 8)
            {
                var keep = Vector256.GreaterThan(Vector256.Load(a + i), Vector256<float>.Zero);
                (Vector256.Load(d + i) & keep).Store(d + i);
            }
        }

        for (; i < length; i++)
        {
            if (!(a[i] > 0))
            {
                d[i] = 0;
            }
        }
    }

    /// <summary>dst[j] = sum over rows of m[r, j].</summary>
    public static void ColumnSums(float* m, int rows, int cols, float* dst)
    {
        var d = new Span<float>(dst, cols);
        d.Clear();
        for (int r = 0; r < rows; r++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<float>(m + ((long)r * cols), cols), d);
        }
    }

    /// <summary>Address of the first element of a pinned array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Pointer(float[] pinnedArray) => (float*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(pinnedArray));
}
