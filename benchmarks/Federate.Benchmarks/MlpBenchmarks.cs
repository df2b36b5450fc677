using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Federate.Learning;

namespace Federate.Benchmarks;

/// <summary>
/// One SGD step of a 784-128-10 MLP at batch 64: the built-in model (register-tiled GEMM) against a naive
/// implementation of the same step built from per-row axpy/dot calls (TensorPrimitives, so also SIMD).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MlpBenchmarks
{
    private const int Inputs = 784;
    private const int Hidden = 128;
    private const int Classes = 10;
    private const int Batch = 64;

    private readonly TrainOptions _options = new() { Epochs = 1, BatchSize = Batch, LearningRate = 0.01, Seed = 1 };
    private DifferentiableModel _model = null!;
    private Dataset _data = null!;
    private float[] _gradient = null!;
    private NaiveMlp _naive = null!;

    [GlobalSetup]
    public void Setup()
    {
        _data = BenchmarkData.Random(Batch, Inputs, Classes);
        _model = (DifferentiableModel)ModelFactory.Create("mlp", Inputs, Classes);
        _model.Initialize(1);
        _gradient = new float[_model.ParameterCount];
        _naive = new NaiveMlp(Inputs, Hidden, Classes, Batch);
    }

    /// <summary>Model.Train over exactly one batch of 64 (shuffle, gather, forward, backward, fused SGD update).</summary>
    [Benchmark(Baseline = true)]
    public TrainResult TiledTrainStep() => _model.Train(_data, _options, CancellationToken.None);

    /// <summary>The tiled forward + backward producing the flat mean gradient (no update).</summary>
    [Benchmark]
    public double TiledLossAndGradient() => _model.LossAndGradient(_data.Features, _data.Labels, _gradient);

    /// <summary>The same step (forward, backward, update) with per-row axpy loops.</summary>
    [Benchmark]
    public double NaiveAxpyTrainStep() => _naive.Step(_data.Features, _data.Labels, 0.01f);

    /// <summary>Reference 784-H-10 MLP step written row by row (the "plain per-row axpy" baseline).</summary>
    private sealed class NaiveMlp
    {
        private readonly int _in;
        private readonly int _hidden;
        private readonly int _out;
        private readonly float[] _w1;
        private readonly float[] _b1;
        private readonly float[] _w2;
        private readonly float[] _b2;
        private readonly float[] _h;
        private readonly float[] _o;
        private readonly float[] _dh;
        private readonly float[] _gw1;
        private readonly float[] _gw2;
        private readonly float[] _gb1;
        private readonly float[] _gb2;

        public NaiveMlp(int inputs, int hidden, int outputs, int batch)
        {
            _in = inputs;
            _hidden = hidden;
            _out = outputs;
            var random = new Random(1);
            _w1 = [.. Enumerable.Range(0, inputs * hidden).Select(_ => (float)((random.NextDouble() * 2 - 1) * Math.Sqrt(6.0 / inputs)))];
            _w2 = [.. Enumerable.Range(0, hidden * outputs).Select(_ => (float)((random.NextDouble() * 2 - 1) * Math.Sqrt(6.0 / hidden)))];
            _b1 = new float[hidden];
            _b2 = new float[outputs];
            _h = new float[batch * hidden];
            _o = new float[batch * outputs];
            _dh = new float[batch * hidden];
            _gw1 = new float[inputs * hidden];
            _gw2 = new float[hidden * outputs];
            _gb1 = new float[hidden];
            _gb2 = new float[outputs];
        }

        public double Step(ReadOnlySpan<float> x, ReadOnlySpan<int> y, float lr)
        {
            int batch = y.Length;
            double loss = 0;
            for (int b = 0; b < batch; b++)
            {
                var xb = x.Slice(b * _in, _in);
                var h = _h.AsSpan(b * _hidden, _hidden);
                _b1.CopyTo(h);
                for (int i = 0; i < _in; i++)
                {
                    TensorPrimitives.MultiplyAdd(_w1.AsSpan(i * _hidden, _hidden), xb[i], h, h);
                }

                TensorPrimitives.Max(h, 0f, h);
                var o = _o.AsSpan(b * _out, _out);
                _b2.CopyTo(o);
                for (int i = 0; i < _hidden; i++)
                {
                    TensorPrimitives.MultiplyAdd(_w2.AsSpan(i * _out, _out), h[i], o, o);
                }

                float max = TensorPrimitives.Max(o);
                float zy = o[y[b]] - max;
                TensorPrimitives.Subtract(o, max, o);
                TensorPrimitives.Exp(o, o);
                float sum = TensorPrimitives.Sum(o);
                loss += Math.Log(sum) - zy;
                TensorPrimitives.Divide(o, sum, o);
                o[y[b]] -= 1f;
                TensorPrimitives.Divide(o, batch, o);
            }

            Array.Clear(_gw1);
            Array.Clear(_gw2);
            Array.Clear(_gb1);
            Array.Clear(_gb2);
            for (int b = 0; b < batch; b++)
            {
                var xb = x.Slice(b * _in, _in);
                var h = _h.AsSpan(b * _hidden, _hidden);
                var o = _o.AsSpan(b * _out, _out);
                var dh = _dh.AsSpan(b * _hidden, _hidden);
                TensorPrimitives.Add(_gb2, o, _gb2);
                for (int i = 0; i < _hidden; i++)
                {
                    TensorPrimitives.MultiplyAdd(o, h[i], _gw2.AsSpan(i * _out, _out), _gw2.AsSpan(i * _out, _out));
                    dh[i] = h[i] > 0 ? TensorPrimitives.Dot(o, _w2.AsSpan(i * _out, _out)) : 0f;
                }

                TensorPrimitives.Add(_gb1, dh, _gb1);
                for (int i = 0; i < _in; i++)
                {
                    TensorPrimitives.MultiplyAdd(dh, xb[i], _gw1.AsSpan(i * _hidden, _hidden), _gw1.AsSpan(i * _hidden, _hidden));
                }
            }

            TensorPrimitives.MultiplyAdd(_gw1, -lr, _w1, _w1);
            TensorPrimitives.MultiplyAdd(_gb1, -lr, _b1, _b1);
            TensorPrimitives.MultiplyAdd(_gw2, -lr, _w2, _w2);
            TensorPrimitives.MultiplyAdd(_gb2, -lr, _b2, _b2);
            return loss / batch;
        }
    }
}
