using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// User-level central differential privacy (DP-FedAvg, McMahan et al. 2018; adaptive clipping, Andrew et al. 2021) as
/// a wrapper around any strategy. Each round: clients are Poisson-sampled with rate q; every update
/// <c>Δ_k = x_k − global</c> is clipped to norm S; Gaussian noise of std z·S is added to the sum; the sum is divided by
/// the fixed denominator m = q·N (expected clients per round, N = available clients), not by example weights, so
/// the noise stays calibrated. The noisy mean update is handed to the inner strategy as a single reply
/// (FedAvg then applies it as is; server optimisers such as FedAdam use it as their pseudo-gradient). The server's
/// RDP accountant composes (z, q) once per round: <c>cumulative_user_epsilon</c> in the train metrics.
/// Noise is seeded from the run seed and the round. The server is trusted: it sees raw updates.
/// </summary>
public sealed class CentralDpStrategy : DelegatingStrategy
{
    private readonly CentralDpOptions _options;
    private RdpAccountant _accountant = new();
    private double _expectedClients = 1;

    /// <summary>Wraps <paramref name="inner"/> with central DP.</summary>
    public CentralDpStrategy(Strategy inner, CentralDpOptions options)
        : base(inner)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        ClipNorm = options.ClipNorm;
    }

    /// <summary>The clip norm the next round uses (moves each round with adaptive clipping).</summary>
    public double ClipNorm { get; private set; }

    /// <summary>The user-level accountant (one entry (z, q, rounds)).</summary>
    public RdpAccountant Accountant => _accountant;

    /// <summary>The user-level epsilon spent so far (0 before the first round).</summary>
    public double Epsilon => _accountant.History.Count == 0 ? 0 : _accountant.GetEpsilon(_options.Delta);

    /// <summary>The user-level epsilon after <paramref name="rounds"/> more rounds (nothing changes).</summary>
    public double ProjectEpsilon(int rounds = 1)
    {
        var copy = RdpAccountant.ImportState(_accountant.ExportState());
        copy.Step(_options.NoiseMultiplier, _options.SampleRate, rounds);
        return copy.GetEpsilon(_options.Delta);
    }

    /// <summary>
    /// The server-side privacy state (user-level accountant and current clip norm) as JSON, for checkpoints: a
    /// resumed run continues with exactly the same epsilon and clip norm.
    /// </summary>
    public string ExportState()
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = "federate.central_dp",
            ["clip_norm"] = ClipNorm,
            ["accountant"] = System.Text.Json.Nodes.JsonNode.Parse(_accountant.ExportState()),
        };
        return node.ToJsonString();
    }

    /// <summary>Restores state written by <see cref="ExportState"/>; <see cref="FormatException"/> when invalid.</summary>
    public void ImportState(string json)
    {
        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json) ?? throw new FormatException("empty central DP state");
            if (node["format"]?.GetValue<string>() != "federate.central_dp")
            {
                throw new FormatException("not a central DP state");
            }

            double clip = node["clip_norm"]!.GetValue<double>();
            var accountant = RdpAccountant.ImportState(node["accountant"]!.ToJsonString());
            if (!(clip > 0) || !double.IsFinite(clip))
            {
                throw new FormatException($"invalid clip norm {clip}");
            }

            ClipNorm = clip;
            _accountant = accountant;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
        {
            throw new FormatException($"invalid central DP state: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    protected override string? ExportOwnState() => ExportState();

    /// <inheritdoc />
    protected override void ImportOwnState(string json) => ImportState(json);

    /// <summary>
    /// The noise multiplier applied to the update sum: z itself with fixed clipping; with adaptive clipping
    /// z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2), so that updates and the noisy unclipped count together cost the same as one
    /// Gaussian mechanism with multiplier z (Andrew et al. 2021, Thm. 1).
    /// </summary>
    public static double UpdateNoiseMultiplier(double z, double clippedCountStddev, CentralClipping clipping)
    {
        if (clipping == CentralClipping.Fixed || z == 0)
        {
            return z;
        }

        double rest = (1 / (z * z)) - (1 / (4 * clippedCountStddev * clippedCountStddev));
        if (!(rest > 0))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"adaptive clipping needs --clipped-count-stddev above z/2 = {z / 2:0.###} (got {clippedCountStddev:0.###}); raise it or lower --central-noise-multiplier"));
        }

        return 1 / Math.Sqrt(rest);
    }

    /// <summary>The adaptive clip-norm update: S · exp(−eta · (unclippedFraction − gamma)).</summary>
    public static double NextClipNorm(double clipNorm, double unclippedFraction, double targetQuantile, double learningRate) =>
        clipNorm * Math.Exp(-learningRate * (unclippedFraction - targetQuantile));

    /// <inheritdoc />
    public override IReadOnlyList<Message> ConfigureTrain(RoundContext context, ArrayRecord global, ConfigRecord config, IReadOnlyList<NodeInfo> nodes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(nodes);
        var ordered = nodes.OrderBy(n => n.NodeId).ToArray();
        _expectedClients = Math.Max(_options.SampleRate * ordered.Length, double.Epsilon);
        var rng = new GaussianNoise(Seeds.Derive(context.Seed, context.Round, "central-dp-clients"));
        var sampled = _options.SampleRate >= 1 ? ordered : [.. ordered.Where(_ => rng.NextDouble() < _options.SampleRate)];
        return Inner.ConfigureTrain(context, global, config, sampled);
    }

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new Aggregator(this, context, global, Inner.CreateTrainAggregator(context, global), _expectedClients);

    private double ClippedCountStddev(double expectedClients) =>
        _options.ClippedCountStddev ?? Math.Max(expectedClients / 20, _options.NoiseMultiplier);

    /// <summary>
    /// Clips and sums updates with memory O(model): each streamed update is buffered in a scratch file (memory when
    /// small) while its chunks arrive, its norm is taken from there when it commits, and it is folded, scaled, block by
    /// block into a float64 sum that is itself a scratch file for large models. The noisy mean update is streamed into
    /// the inner strategy's aggregator when that one streams.
    /// </summary>
    private sealed class Aggregator : IStreamingTrainAggregator, IClippedSumAggregator, IDisposable
    {
        // Norms are summed over blocks of this many elements (per tensor), the same way for whole and streamed updates.
        private const int Block = 1 << 16;
        private readonly CentralDpStrategy _owner;
        private readonly RoundContext _context;
        private readonly ArrayRecord _global;
        private readonly ITrainAggregator _inner;
        private readonly double _expected;
        private readonly double _clip;
        private readonly WeightedMetricFolder _metrics = new();
        private readonly Aggregation.ScratchTensors<double> _sum;
        private readonly Tensor[] _tensors;
        private readonly double[] _d;
        private readonly double[] _s;
        private readonly byte[] _x;
        private Aggregation.ScratchTensors<byte>? _spool;
        private int _unclipped;
        private int _summed;

        public Aggregator(CentralDpStrategy owner, RoundContext context, ArrayRecord global, ITrainAggregator inner, double expected)
        {
            (_owner, _context, _global, _inner, _expected) = (owner, context, global, inner, expected);
            _clip = owner.ClipNorm;
            foreach (var (name, tensor) in global)
            {
                if (tensor.DType is not (DType.Float32 or DType.Float64))
                {
                    throw new NotSupportedException($"central DP clips float32 and float64 tensors; '{name}' is {tensor.DType}.");
                }
            }

            _tensors = [.. global.Select(kv => kv.Value)];
            _sum = new Aggregation.ScratchTensors<double>([.. _tensors.Select(t => t.Length)]);
            int block = (int)Math.Min(Block, Math.Max(1, _tensors.Length == 0 ? 1 : _tensors.Max(t => t.Length)));
            _d = new double[block];
            _s = new double[block];
            _x = new byte[block * sizeof(double)];
        }

        private delegate void ReadBlock(int tensor, long elementOffset, Span<byte> destination);

        public int Count { get; private set; }

        public string? Add(Message reply)
        {
            var problem = UpdateValidation.Validate(reply, _global, out var parameters, out _);
            if (problem is not null)
            {
                return problem;
            }

            var tensors = parameters!.Select(kv => kv.Value).ToArray();
            FoldUpdate((t, offset, destination) => tensors[t].AsBytes().Slice(checked((int)(offset * tensors[t].DType.SizeOf())), destination.Length).CopyTo(destination));
            _metrics.Add(reply.Content!.Metrics[RecordNames.Metrics]);
            Count++;
            return null;
        }

        public double? ClipNorm => _clip;

        // Secure aggregation: the clients clipped their updates to _clip, the server unmasked only their sum.
        public string? AddClippedSum(ArrayRecord updateSum, int count, MetricRecord metrics)
        {
            ArgumentNullException.ThrowIfNull(updateSum);
            ArgumentNullException.ThrowIfNull(metrics);
            if (_owner._options.Clipping != CentralClipping.Fixed)
            {
                return "adaptive clipping needs the norm of each update, which secure aggregation hides";
            }

            if (_global.DescribeLayoutMismatch(updateSum) is { } mismatch)
            {
                return $"the sum of updates does not match the model: {mismatch}";
            }

            for (int t = 0; t < _tensors.Length; t++)
            {
                var u = updateSum[_global.Names[t]];
                for (long offset = 0; offset < u.Length; offset += _d.Length)
                {
                    int n = (int)Math.Min(_d.Length, u.Length - offset);
                    var d = _d.AsSpan(0, n);
                    if (u.DType == DType.Float32)
                    {
                        System.Numerics.Tensors.TensorPrimitives.ConvertChecked<float, double>(u.AsSpan<float>().Slice(checked((int)offset), n), d);
                    }
                    else
                    {
                        u.AsSpan<double>().Slice(checked((int)offset), n).CopyTo(d);
                    }

                    var sum = _s.AsSpan(0, n);
                    _sum.Read(t, offset, sum);
                    System.Numerics.Tensors.TensorPrimitives.Add(sum, d, sum);
                    _sum.Write(t, offset, sum);
                }
            }

            _metrics.Add(metrics);
            Count += count;
            _summed += count;
            return null;
        }

        public IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics)
        {
            ArgumentNullException.ThrowIfNull(metrics);
            if (!metrics.TryGetValue(RecordNames.NumExamples, out var n) || !(n > 0) || !double.IsFinite(n))
            {
                throw new ArgumentException("update has no positive 'num_examples' metric");
            }

            _spool ??= new Aggregation.ScratchTensors<byte>([.. _tensors.Select(t => t.ByteLength)]);
            return new Fold(this, metrics);
        }

        // Δ = x − global in float64 for elements [offset, offset + n) of tensor t, from x's little-endian bytes.
        private Span<double> Delta(int t, long offset, int n, ReadOnlySpan<byte> x)
        {
            var d = _d.AsSpan(0, n);
            var g = _tensors[t];
            if (g.DType == DType.Float32)
            {
                var xs = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(x);
                var w = g.AsSpan<float>().Slice(checked((int)offset), n);
                for (int i = 0; i < n; i++)
                {
                    d[i] = (double)xs[i] - w[i];
                }
            }
            else
            {
                System.Numerics.Tensors.TensorPrimitives.Subtract(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(x), g.AsSpan<double>().Slice(checked((int)offset), n), d);
            }

            return d;
        }

        // Two passes over the update: its norm (which decides the clip factor), then sum += factor · Δ.
        private void FoldUpdate(ReadBlock read)
        {
            double squared = 0;
            for (int t = 0; t < _tensors.Length; t++)
            {
                int elem = _tensors[t].DType.SizeOf();
                double tensorSquared = 0;
                for (long offset = 0; offset < _tensors[t].Length; offset += _d.Length)
                {
                    int n = (int)Math.Min(_d.Length, _tensors[t].Length - offset);
                    var x = _x.AsSpan(0, n * elem);
                    read(t, offset, x);
                    var d = Delta(t, offset, n, x);
                    tensorSquared += System.Numerics.Tensors.TensorPrimitives.Dot<double>(d, d);
                }

                squared += tensorSquared;
            }

            double norm = Math.Sqrt(squared);
            double factor = norm > _clip ? _clip / norm : 1.0;
            if (norm <= _clip)
            {
                _unclipped++;
            }

            for (int t = 0; t < _tensors.Length; t++)
            {
                int elem = _tensors[t].DType.SizeOf();
                for (long offset = 0; offset < _tensors[t].Length; offset += _d.Length)
                {
                    int n = (int)Math.Min(_d.Length, _tensors[t].Length - offset);
                    var x = _x.AsSpan(0, n * elem);
                    read(t, offset, x);
                    var d = Delta(t, offset, n, x);
                    var sum = _s.AsSpan(0, n);
                    _sum.Read(t, offset, sum);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(d, factor, sum, sum);
                    _sum.Write(t, offset, sum);
                }
            }
        }

        public AggregateResult Complete()
        {
            var o = _owner._options;
            double countStddev = _owner.ClippedCountStddev(_expected);
            double zUpdate = UpdateNoiseMultiplier(o.NoiseMultiplier, countStddev, o.Clipping);
            var noise = new GaussianNoise(Seeds.Derive(_context.Seed, _context.Round, "central-dp-noise"));
            var innerMetrics = new MetricRecord { [RecordNames.NumExamples] = 1 };

            // The inner strategy sees one update: the noisy mean update applied to the global model, streamed block by
            // block when its aggregator streams (noise is drawn in blocks of a multiple of its own batch, so the values
            // are those of one pass over each tensor).
            IUpdateFold? fold = _inner is IStreamingTrainAggregator { CanStream: true } streaming ? streaming.BeginUpdate(0, innerMetrics) : null;
            var candidate = fold is null ? new ArrayRecord() : null;
            bool finite = true;
            int block = _d.Length < Block ? _d.Length : Block;
            for (int t = 0; t < _tensors.Length && finite; t++)
            {
                var g = _tensors[t];
                var whole = candidate is null ? null : Tensor.Zeros(g.DType, [.. g.Shape]);
                for (long offset = 0; offset < g.Length && finite; offset += block)
                {
                    int n = (int)Math.Min(block, g.Length - offset);
                    var sum = _s.AsSpan(0, n);
                    _sum.Read(t, offset, sum);
                    noise.AddTo(sum, zUpdate * _clip);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(sum, 1.0 / _expected, sum);
                    Span<byte> bytes;
                    if (g.DType == DType.Float32)
                    {
                        var w = g.AsSpan<float>().Slice(checked((int)offset), n);
                        var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_x.AsSpan(0, n * sizeof(float)));
                        for (int i = 0; i < n; i++)
                        {
                            x[i] = (float)(w[i] + sum[i]);
                        }

                        finite = AllFinite<float>(x);
                        bytes = _x.AsSpan(0, n * sizeof(float));
                    }
                    else
                    {
                        var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(_x.AsSpan(0, n * sizeof(double)));
                        System.Numerics.Tensors.TensorPrimitives.Add(g.AsSpan<double>().Slice(checked((int)offset), n), sum, x);
                        finite = AllFinite<double>(x);
                        bytes = _x.AsSpan(0, n * sizeof(double));
                    }

                    if (whole is not null)
                    {
                        bytes.CopyTo(whole.AsBytes()[checked((int)(offset * g.DType.SizeOf()))..]);
                    }
                    else if (finite)
                    {
                        fold!.FoldChunk(t, offset, bytes);
                    }
                }

                candidate?.Add(_global.Names[t], whole!);
            }

            double nextClip = _clip;
            if (o.Clipping == CentralClipping.Adaptive)
            {
                double noisyFraction = (_unclipped + (countStddev * noise.NextGaussian())) / _expected;
                nextClip = NextClipNorm(_clip, noisyFraction, o.TargetQuantile, o.ClipLearningRate);
                _owner.ClipNorm = nextClip;
            }

            _owner._accountant.Step(o.NoiseMultiplier, o.SampleRate);
            Dispose();

            AggregateResult inner;
            if (fold is not null)
            {
                // A non-finite candidate is refused as the inner aggregator would refuse the reply; its partial fold
                // is dropped with the inner aggregator, which is never completed.
                if (finite)
                {
                    fold.Commit();
                }

                inner = finite ? _inner.Complete() : new AggregateResult(null, new MetricRecord());
            }
            else
            {
                var content = new RecordDict();
                content.Arrays[RecordNames.Model] = candidate!;
                content.Metrics[RecordNames.Metrics] = innerMetrics;
                var synthetic = new Message(
                    new MessageMetadata { RunId = _context.RunId, Round = _context.Round, MessageType = MessageType.Train, MessageId = $"{_context.RunId}/{_context.Round}/central-dp" },
                    content);
                var problem = _inner.Add(synthetic);
                inner = problem is null ? _inner.Complete() : new AggregateResult(null, new MetricRecord());
            }

            var metrics = _metrics.Result();
            var eps = _owner.Epsilon;
            if (double.IsFinite(eps))
            {
                metrics[PrivacyNames.CumulativeUserEpsilon] = eps;
            }

            metrics["clip_norm"] = _clip;
            if (o.Clipping == CentralClipping.Adaptive)
            {
                metrics["next_clip_norm"] = nextClip;
            }

            if (_summed == 0)
            {
                // Under secure aggregation the clients clip, and how many were clipped is not revealed.
                metrics["clipped_fraction"] = Count == 0 ? 0 : 1 - ((double)_unclipped / Count);
            }

            return new AggregateResult(inner.Parameters, metrics);
        }

        public void Dispose()
        {
            _sum.Dispose();
            _spool?.Dispose();
        }

        private static bool AllFinite<T>(ReadOnlySpan<T> values)
            where T : System.Numerics.IFloatingPointIeee754<T>
        {
            foreach (var v in values)
            {
                if (!T.IsFinite(v))
                {
                    return false;
                }
            }

            return true;
        }

        private sealed class Fold(Aggregator owner, MetricRecord metrics) : IUpdateFold
        {
            private bool _done;

            // Chunks only go to the spool: nothing reaches the sum before the whole update (and so its norm) is known.
            public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) =>
                owner._spool!.Write(tensorIndex, elementOffset * owner._tensors[tensorIndex].DType.SizeOf(), bytes);

            public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes)
            {
                // Nothing was folded yet; the spool is simply overwritten by the next update.
            }

            public void Commit()
            {
                ObjectDisposedException.ThrowIf(_done, this);
                _done = true;
                owner.FoldUpdate((t, offset, destination) => owner._spool!.Read(t, offset * owner._tensors[t].DType.SizeOf(), destination));
                owner._metrics.Add(metrics);
                owner.Count++;
            }
        }
    }
}
