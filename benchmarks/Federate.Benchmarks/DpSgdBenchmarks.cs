using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Federate.Learning;

namespace Federate.Benchmarks;

/// <summary>
/// One epoch (10 steps at batch 64, 640 examples) of a 784-128-10 MLP: plain SGD against DP-SGD (Poisson sampling
/// with q = 0.1, per-example clipping by the norm trick, Gaussian noise on all 101,770 parameters), and against a
/// DP-SGD step that materialises every per-example gradient before clipping (what the norm trick avoids).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DpSgdBenchmarks
{
    private const int Inputs = 784;
    private const int Classes = 10;
    private const int Batch = 64;
    private const int Examples = 640;

    private readonly TrainOptions _sgd = new() { Epochs = 1, BatchSize = Batch, LearningRate = 0.01, Seed = 1 };
    private readonly TrainOptions _dpSgd = new() { Epochs = 1, BatchSize = Batch, LearningRate = 0.01, Seed = 1, DpSgd = new DpSgdOptions { NoiseMultiplier = 1.0, MaxGradNorm = 1.0 } };
    private DifferentiableModel _sgdModel = null!;
    private DifferentiableModel _dpModel = null!;
    private DifferentiableModel _materialisedModel = null!;
    private Dataset _data = null!;
    private float[] _perExample = null!;
    private float[] _losses = null!;
    private float[] _sum = null!;
    private float[] _params = null!;

    [GlobalSetup]
    public void Setup()
    {
        _data = BenchmarkData.Random(Examples, Inputs, Classes);
        _sgdModel = Create();
        _dpModel = Create();
        _materialisedModel = Create();
        _perExample = new float[Batch * _materialisedModel.ParameterCount];
        _losses = new float[Batch];
        _sum = new float[_materialisedModel.ParameterCount];
        _params = new float[_materialisedModel.ParameterCount];
    }

    private static DifferentiableModel Create()
    {
        var model = (DifferentiableModel)ModelFactory.Create("mlp", Inputs, Classes);
        model.Initialize(1);
        return model;
    }

    /// <summary>Plain minibatch SGD: 10 steps of 64.</summary>
    [Benchmark(Baseline = true)]
    public TrainResult SgdEpoch() => _sgdModel.Train(_data, _sgd, CancellationToken.None);

    /// <summary>DP-SGD: 10 Poisson-sampled steps (expected 64), clipping by per-layer norms, one GEMM per layer, noise.</summary>
    [Benchmark]
    public TrainResult DpSgdEpoch() => _dpModel.Train(_data, _dpSgd, CancellationToken.None);

    /// <summary>
    /// DP-SGD without the norm trick: 10 steps of 64 that materialise the 64 x 101,770 per-example gradients, clip
    /// each row and sum them (noise left out, so this is a lower bound on its cost).
    /// </summary>
    [Benchmark]
    public float MaterialisedClippingEpoch()
    {
        int p = _materialisedModel.ParameterCount;
        int rows = Batch * Inputs;
        for (int start = 0; start < Examples; start += Batch)
        {
            _materialisedModel.PerExampleGradients(_data.Features.AsSpan(start * Inputs, rows), _data.Labels.AsSpan(start, Batch), _perExample, _losses);
            _sum.AsSpan().Clear();
            for (int b = 0; b < Batch; b++)
            {
                var row = _perExample.AsSpan(b * p, p);
                float norm = MathF.Sqrt(TensorPrimitives.SumOfSquares(row));
                TensorPrimitives.MultiplyAdd(row, Math.Min(1f, 1f / norm), _sum, _sum);
            }

            _materialisedModel.CopyParametersTo(_params);
            TensorPrimitives.MultiplyAdd(_sum, -0.01f / Batch, _params, _params);
            _materialisedModel.SetParametersFrom(_params);
        }

        return _params[0];
    }
}
