using Federate.Learning.Models.Layers;

namespace Federate.Learning.Tests.Models.Layers;

/// <summary>
/// Every layer's input and parameter gradients against central finite differences of L = Σ r ⊙ f(x) for a random
/// r, and each layer's per-example squared gradient norms against the gradient of that example alone.
/// </summary>
public unsafe class LayerGradientTests
{
    public static TheoryData<string> LayerNames => ["conv", "conv-pad", "conv-1x1", "conv-wide", "conv-wide-1x1", "maxpool", "maxpool3", "avgpool", "relu", "flatten", "dropout", "groupnorm", "linear", "linear-wide", "upsample", "upsample3"];

    private static Layer Create(string name) => name switch
    {
        "conv" => new Conv2d("conv1", new ImageShape(2, 6, 5), 3, 3, 0),
        "conv-pad" => new Conv2d("conv1", new ImageShape(2, 5, 5), 3, 5, 2),
        "conv-1x1" => new Conv2d("conv1", new ImageShape(3, 4, 4), 2, 1, 0),
        "conv-wide" => new Conv2d("conv1", new ImageShape(3, 5, 4), 32, 5, 2), // 32+ channels, 64+ patch values: the transposed products
        "conv-wide-1x1" => new Conv2d("conv1", new ImageShape(64, 2, 2), 32, 1, 0),
        "maxpool" => new MaxPool2d(new ImageShape(2, 5, 4), 2),
        "avgpool" => new AvgPool2d(new ImageShape(2, 6, 6), 3),
        "relu" => new ReLU(new ImageShape(2, 3, 3)),
        "flatten" => new Flatten(new ImageShape(2, 3, 3)),
        "dropout" => new Dropout(new ImageShape(3, 3, 3), 0.4f) { Seed = 42 },
        "groupnorm" => new GroupNorm("gn1", new ImageShape(4, 3, 3), 2),
        "linear" => new Linear("fc1", new ImageShape(7, 1, 1), 5),
        "linear-wide" => new Linear("fc1", new ImageShape(2, 4, 5), 30), // in·out > batch·(in + out): the transposed-x path
        "maxpool3" => new MaxPool2d(new ImageShape(2, 7, 6), 3),
        "upsample" => new Upsample2d(new ImageShape(2, 3, 4), 2),
        "upsample3" => new Upsample2d(new ImageShape(3, 2, 2), 3),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static float[] Random(int n, int seed, double scale = 1)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(((2 * r.NextDouble()) - 1) * scale);
        }

        return v;
    }

    private static double Objective(Layer layer, float[] p, float[] x, float[] r, int batch)
    {
        var y = new float[batch * layer.Output.Size];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            layer.Forward(pp, xp, yp, batch, training: true);
        }

        double s = 0;
        for (int i = 0; i < y.Length; i++)
        {
            s += (double)r[i] * y[i];
        }

        return s;
    }

    private static (float[] P, float[] X, float[] R, float[] Dx, float[] Dp) Analytic(Layer layer, int batch)
    {
        var p = Random(Math.Max(1, layer.ParameterCount), 1);
        if (layer is GroupNorm)
        {
            // Away from gamma = 0 so the input gradient is not trivially small.
            for (int i = 0; i < layer.ParameterCount / 2; i++)
            {
                p[i] += 1.5f;
            }
        }

        var x = Random(batch * layer.Input.Size, 2, 2);
        for (int i = 0; i < x.Length; i++)
        {
            // Keep finite differences off ReLU's kink.
            if (Math.Abs(x[i]) < 0.05f)
            {
                x[i] = 0.3f + (0.01f * i);
            }
        }

        var r = Random(batch * layer.Output.Size, 3);
        var y = new float[r.Length];
        var dx = new float[x.Length];
        var dp = new float[p.Length];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        fixed (float* rp = r)
        fixed (float* dxp = dx)
        fixed (float* dpp = dp)
        {
            layer.Forward(pp, xp, yp, batch, training: true);
            layer.BackwardInput(pp, xp, yp, rp, dxp, batch);
            layer.ParameterGradient(pp, xp, rp, batch, dpp);
        }

        return (p, x, r, dx, dp);
    }

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void BackwardInput_AnyLayer_MatchesFiniteDifferences(string name)
    {
        var layer = Create(name);
        const int batch = 3;
        var (p, x, r, dx, _) = Analytic(layer, batch);
        const float eps = 1e-3f;
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            x[i] = keep + eps;
            double plus = Objective(layer, p, x, r, batch);
            x[i] = keep - eps;
            double minus = Objective(layer, p, x, r, batch);
            x[i] = keep;
            double expected = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(expected - dx[i]) <= 2e-3 * (1 + Math.Abs(expected)), $"{name} dx[{i}]: analytic {dx[i]}, finite differences {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void ParameterGradient_AnyLayer_MatchesFiniteDifferences(string name)
    {
        var layer = Create(name);
        const int batch = 3;
        var (p, x, r, _, dp) = Analytic(layer, batch);
        const float eps = 1e-3f;
        for (int i = 0; i < layer.ParameterCount; i++)
        {
            float keep = p[i];
            p[i] = keep + eps;
            double plus = Objective(layer, p, x, r, batch);
            p[i] = keep - eps;
            double minus = Objective(layer, p, x, r, batch);
            p[i] = keep;
            double expected = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(expected - dp[i]) <= 2e-3 * (1 + Math.Abs(expected)), $"{name} dp[{i}]: analytic {dp[i]}, finite differences {expected}");
        }
    }

    [Theory]
    [InlineData("conv")]
    [InlineData("conv-pad")]
    [InlineData("conv-1x1")]
    [InlineData("conv-wide")]
    [InlineData("conv-wide-1x1")]
    [InlineData("groupnorm")]
    [InlineData("linear")]
    [InlineData("linear-wide")]
    public void AddPerExampleSquaredNorms_ParameterLayer_MatchesEachExampleAlone(string name)
    {
        var layer = Create(name);
        const int batch = 4;
        var (p, x, r, _, _) = Analytic(layer, batch);
        var norms = new float[batch];
        var y = new float[r.Length];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        fixed (float* rp = r)
        fixed (float* np = norms)
        {
            layer.Forward(pp, xp, yp, batch, training: true);
            layer.AddPerExampleSquaredNorms(pp, xp, rp, batch, np);
        }

        for (int b = 0; b < batch; b++)
        {
            var one = new float[layer.ParameterCount];
            fixed (float* pp = p)
            fixed (float* xp = x)
            fixed (float* yp = y)
            fixed (float* rp = r)
            fixed (float* op = one)
            {
                // Forward on the one example (group norm keeps per-example statistics from the forward pass).
                layer.Forward(pp, xp + (b * layer.Input.Size), yp, 1, training: true);
                layer.ParameterGradient(pp, xp + (b * layer.Input.Size), rp + (b * layer.Output.Size), 1, op);
            }

            float expected = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(one);
            Assert.Equal(expected, norms[b], expected * 1e-5f);
        }
    }

    [Fact]
    public void Forward_Conv2dKnownInput_GivesHandComputedValues()
    {
        // 1 x 3 x 3 input 1..9, one 2 x 2 kernel [[1, 0], [0, -1]], bias 0.5: y[i, j] = x[i, j] - x[i + 1, j + 1] + 0.5 = -3.5.
        var layer = new Conv2d("conv1", new ImageShape(1, 3, 3), 1, 2, 0);
        float[] p = [1, 0, 0, -1, 0.5f];
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var y = new float[4];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            layer.Forward(pp, xp, yp, 1, training: false);
        }

        Assert.Equal([-3.5f, -3.5f, -3.5f, -3.5f], y);
    }

    [Fact]
    public void Forward_Conv2dPadding_ZeroesOutsideTheImage()
    {
        // 1 x 2 x 2 input, 3 x 3 all-ones kernel, padding 1: every output sums the whole (zero-padded) neighbourhood.
        var layer = new Conv2d("conv1", new ImageShape(1, 2, 2), 1, 3, 1);
        float[] p = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
        float[] x = [1, 2, 3, 4];
        var y = new float[4];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            layer.Forward(pp, xp, yp, 1, training: false);
        }

        Assert.Equal([10f, 10f, 10f, 10f], y);
    }

    [Fact]
    public void Forward_Upsample2d_RepeatsEachPixelInA2x2Block()
    {
        float[] x = [1, 2, 3, 4, 5, 6];
        var y = new float[24];
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            new Upsample2d(new ImageShape(1, 2, 3), 2).Forward(null, xp, yp, 1, training: false);
        }

        Assert.Equal([1f, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6], y);
    }

    [Fact]
    public void Forward_MaxPoolAndAvgPool_GiveWindowMaxAndMean()
    {
        float[] x = [1, 5, 2, 0, 3, 4, 8, 6, 9, 1, 2, 2, 0, 7, 3, 3];
        var max = new float[4];
        var avg = new float[4];
        fixed (float* xp = x)
        fixed (float* mp = max)
        fixed (float* ap = avg)
        {
            new MaxPool2d(new ImageShape(1, 4, 4), 2).Forward(null, xp, mp, 1, training: false);
            new AvgPool2d(new ImageShape(1, 4, 4), 2).Forward(null, xp, ap, 1, training: false);
        }

        Assert.Equal([5f, 8f, 9f, 3f], max);
        Assert.Equal([13f / 4, 16f / 4, 17f / 4, 10f / 4], avg);
    }

    [Fact]
    public void Forward_DropoutEvaluation_IsIdentityAndTrainingKeepsAboutOneMinusP()
    {
        var layer = new Dropout(new ImageShape(1000, 1, 1), 0.25f) { Seed = 7 };
        var x = Enumerable.Repeat(1f, 1000).ToArray();
        var eval = new float[1000];
        var train = new float[1000];
        fixed (float* xp = x)
        fixed (float* ep = eval)
        fixed (float* tp = train)
        {
            layer.Forward(null, xp, ep, 1, training: false);
            layer.Forward(null, xp, tp, 1, training: true);
        }

        Assert.Equal(x, eval);
        int kept = train.Count(v => v != 0);
        Assert.InRange(kept, 700, 800);
        Assert.All(train.Where(v => v != 0), v => Assert.Equal(1f / 0.75f, v));
    }

    [Fact]
    public void Forward_GroupNorm_NormalisesEachGroup()
    {
        var layer = new GroupNorm("gn1", new ImageShape(2, 1, 2), 1);
        float[] p = [1, 1, 0, 0];
        float[] x = [1, 2, 3, 4];
        var y = new float[4];
        fixed (float* pp = p)
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            layer.Forward(pp, xp, yp, 1, training: false);
        }

        // mean 2.5, variance 1.25.
        double s = 1 / Math.Sqrt(1.25 + 1e-5);
        Assert.Equal(-1.5 * s, y[0], 1e-5);
        Assert.Equal(-0.5 * s, y[1], 1e-5);
        Assert.Equal(0.5 * s, y[2], 1e-5);
        Assert.Equal(1.5 * s, y[3], 1e-5);
    }
}
