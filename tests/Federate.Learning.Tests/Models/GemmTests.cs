using Federate.Learning.Internal;

namespace Federate.Learning.Tests.Models;

public unsafe class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 32, 7)]
    [InlineData(5, 33, 64)]
    [InlineData(9, 10, 13)]
    [InlineData(3, 70, 5)]
    [InlineData(64, 128, 100)]
    [InlineData(7, 16, 3)]
    [InlineData(17, 40, 9)]
    [InlineData(13, 64, 31)]
    public void Multiply_VariousShapes_MatchesScalarReference(int m, int n, int k)
    {
        foreach (bool transposeA in new[] { false, true })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                var a = SyntheticData.RandomFloats(m * k, 1);
                var b = SyntheticData.RandomFloats(k * (n + 3), 2);
                var c0 = SyntheticData.RandomFloats(m * (n + 2), 3);
                var expected = (float[])c0.Clone();
                var actual = (float[])c0.Clone();
                int ars = transposeA ? 1 : k;
                int acs = transposeA ? m : 1;
                fixed (float* pa = a)
                fixed (float* pb = b)
                fixed (float* pe = expected)
                fixed (float* pc = actual)
                {
                    Gemm.MultiplyScalar(m, n, k, -0.5f, pa, ars, acs, pb, n + 3, pe, n + 2, accumulate);
                    Gemm.Multiply(m, n, k, -0.5f, pa, ars, acs, pb, n + 3, pc, n + 2, accumulate);
                }

                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"m={m} n={n} k={k} t={transposeA} acc={accumulate} at {i}: {expected[i]} vs {actual[i]}");
                }
            }
        }
    }
}
