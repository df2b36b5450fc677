using Federate.Learning.Models.Layers;

namespace Federate.Learning.Tests.Models.Layers;

/// <summary>
/// Max-pooling's backward pass routes each window's gradient to the first element (row-major) holding the maximum,
/// as PyTorch does, for every pattern of ties in a 2 x 2 and a 3 x 3 window, and to the window's first element when
/// the window holds NaN.
/// </summary>
public unsafe class MaxPoolTieTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void BackwardInput_EveryTiePattern_GradientToFirstMaximum(int k)
    {
        int cells = k * k;
        for (int pattern = 1; pattern < 1 << cells; pattern++)
        {
            // The elements in the pattern hold the maximum 5; the others hold values below it.
            var x = new float[cells];
            int first = -1;
            for (int e = 0; e < cells; e++)
            {
                bool max = (pattern & (1 << e)) != 0;
                x[e] = max ? 5f : e - 10f;
                if (max && first < 0)
                {
                    first = e;
                }
            }

            var dx = Backward(k, x);
            var expected = new float[cells];
            expected[first] = 3f;
            Assert.Equal(expected, dx);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void BackwardInput_NaNInWindow_GradientToFirstElement(int k)
    {
        var x = Enumerable.Range(0, k * k).Select(i => (float)i).ToArray();
        x[k] = float.NaN;
        var dx = Backward(k, x);
        Assert.Equal(3f, dx[0]);
        Assert.Equal(3f, dx.Sum());
    }

    private static float[] Backward(int k, float[] x)
    {
        var layer = new MaxPool2d(new ImageShape(1, k, k), k);
        var y = new float[1];
        var dy = new[] { 3f };
        var dx = new float[x.Length];
        fixed (float* xp = x)
        fixed (float* yp = y)
        fixed (float* dyp = dy)
        fixed (float* dxp = dx)
        {
            layer.Forward(null, xp, yp, 1, training: true);
            layer.BackwardInput(null, xp, yp, dyp, dxp, 1);
        }

        return dx;
    }
}
