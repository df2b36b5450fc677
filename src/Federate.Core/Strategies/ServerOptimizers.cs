namespace Federate.Core;

/// <summary>
/// Base of strategies that treat the change of the FedAvg average as a pseudo-gradient and apply a server-side
/// optimizer to it (Reddi et al., 2021, "Adaptive Federated Optimization"; Hsu et al., 2019, FedAvgM). The optimizer
/// state (moments) lives in the strategy and is carried across rounds.
/// </summary>
public abstract class ServerOptimizerStrategy : FedAvg, IStatefulStrategy
{
    private float[][]? _m;
    private float[][]? _v;

    /// <summary>Server learning rate.</summary>
    public double ServerLearningRate { get; init; }

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new Wrapped(new WeightedMeanAggregator(global), average => Step(context.Round, global, average));

    /// <summary>The optimizer moments as JSON (each tensor's floats as base64, so a restore is bit-exact).</summary>
    public string ExportState()
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = "federate.server_optimizer",
            ["name"] = Name,
            ["m"] = Encode(_m),
            ["v"] = Encode(_v),
        };
        return node.ToJsonString();
    }

    /// <summary>Restores moments written by <see cref="ExportState"/>; <see cref="FormatException"/> when invalid.</summary>
    public void ImportState(string json)
    {
        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json) ?? throw new FormatException("empty server optimizer state");
            if (node["format"]?.GetValue<string>() != "federate.server_optimizer")
            {
                throw new FormatException("not a server optimizer state");
            }

            _m = Decode(node["m"]);
            _v = Decode(node["v"]);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"invalid server optimizer state: {ex.Message}", ex);
        }
    }

    private static System.Text.Json.Nodes.JsonArray? Encode(float[][]? moments)
    {
        if (moments is null)
        {
            return null;
        }

        var array = new System.Text.Json.Nodes.JsonArray();
        foreach (var t in moments)
        {
            array.Add(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.AsSpan())));
        }

        return array;
    }

    private static float[][]? Decode(System.Text.Json.Nodes.JsonNode? node)
    {
        if (node is not System.Text.Json.Nodes.JsonArray array)
        {
            return null;
        }

        var result = new float[array.Count][];
        for (int i = 0; i < array.Count; i++)
        {
            var bytes = Convert.FromBase64String(array[i]!.GetValue<string>());
            if (bytes.Length % sizeof(float) != 0)
            {
                throw new FormatException("a moment tensor has a partial float");
            }

            result[i] = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        }

        return result;
    }

    /// <summary>Applies one server step given the per-coordinate pseudo-gradient <c>delta = average - global</c>.</summary>
    protected abstract void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v);

    private ArrayRecord Step(int round, ArrayRecord global, ArrayRecord average)
    {
        _m ??= [.. global.Select(kv => new float[kv.Value.Length])];
        _v ??= [.. global.Select(kv => new float[kv.Value.Length])];
        return UpdateMath.Map(global, (i, t) =>
        {
            if (t.DType != DType.Float32)
            {
                return UpdateMath.At(average, i);
            }

            var w = t.Clone();
            var avg = UpdateMath.At(average, i).AsSpan<float>();
            var delta = new float[avg.Length];
            System.Numerics.Tensors.TensorPrimitives.Subtract(avg, t.AsSpan<float>(), delta);
            Update(round, w.AsSpan<float>(), delta, _m[i], _v[i]);
            return w;
        });
    }

    private sealed class Wrapped(ITrainAggregator inner, Func<ArrayRecord, ArrayRecord> step) : ITrainAggregator
    {
        public int Count => inner.Count;

        public string? Add(Message reply) => inner.Add(reply);

        public AggregateResult Complete()
        {
            var r = inner.Complete();
            return r.Parameters is null ? r : r with { Parameters = step(r.Parameters) };
        }
    }
}

/// <summary>
/// The adaptive-moment server optimizers of Reddi et al. (2021): m = b1·m + (1-b1)·d, a second moment v that each
/// subclass updates, and w += eta·sqrt(1-b2^(t+1))/(1-b1^(t+1)) · m / (sqrt(v) + tau).
/// </summary>
public abstract class AdaptiveMomentStrategy : ServerOptimizerStrategy
{
    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.99;

    /// <summary>Adaptivity.</summary>
    public double Tau { get; init; } = 1e-3;

    /// <summary>The new second moment from the old one and the pseudo-gradient.</summary>
    protected abstract float SecondMoment(float v, float delta, float beta2);

    /// <inheritdoc />
    protected sealed override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float b1 = (float)Beta1;
        float b2 = (float)Beta2;
        float eta = (float)(ServerLearningRate * Math.Sqrt(1 - Math.Pow(Beta2, round + 1.0)) / (1 - Math.Pow(Beta1, round + 1.0)));
        float tau = (float)Tau;
        for (int i = 0; i < weights.Length; i++)
        {
            m[i] = (b1 * m[i]) + ((1 - b1) * delta[i]);
            v[i] = SecondMoment(v[i], delta[i], b2);
            weights[i] += eta * m[i] / (MathF.Sqrt(v[i]) + tau);
        }
    }
}

/// <summary>
/// FedAdam (Reddi et al., 2021): v = b2·v + (1-b2)·d². Defaults eta 0.01, b1 0.9, b2 0.99, tau 1e-3.
/// </summary>
public sealed class FedAdam : AdaptiveMomentStrategy
{
    /// <inheritdoc />
    public override string Name => "fedadam";

    /// <inheritdoc />
    protected override float SecondMoment(float v, float delta, float beta2) => (beta2 * v) + ((1 - beta2) * delta * delta);
}

/// <summary>
/// FedYogi (Reddi et al., 2021): v = v - (1-b2)·d²·sign(v - d²), which grows v more slowly than Adam.
/// Defaults eta 0.01, b1 0.9, b2 0.99, tau 1e-3.
/// </summary>
public sealed class FedYogi : AdaptiveMomentStrategy
{
    /// <inheritdoc />
    public override string Name => "fedyogi";

    /// <inheritdoc />
    protected override float SecondMoment(float v, float delta, float beta2)
    {
        float d2 = delta * delta;
        return v - ((1 - beta2) * d2 * MathF.Sign(v - d2));
    }
}

/// <summary>
/// FedAdagrad (Reddi et al., 2021): v = v + d²; w += eta · d / (sqrt(v) + tau). Defaults eta 0.05, tau 1e-3.
/// </summary>
public sealed class FedAdagrad : ServerOptimizerStrategy
{
    /// <summary>Adaptivity.</summary>
    public double Tau { get; init; } = 1e-3;

    /// <inheritdoc />
    public override string Name => "fedadagrad";

    /// <inheritdoc />
    protected override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float eta = (float)ServerLearningRate;
        float tau = (float)Tau;
        for (int i = 0; i < weights.Length; i++)
        {
            v[i] += delta[i] * delta[i];
            weights[i] += eta * delta[i] / (MathF.Sqrt(v[i]) + tau);
        }
    }
}

/// <summary>
/// FedAvgM (Hsu et al., 2019, "Measuring the Effects of Non-Identical Data Distribution"): server momentum on the
/// pseudo-gradient: m = beta·m + d; w += eta·m. Defaults eta 1.0, beta 0.9.
/// </summary>
public sealed class FedAvgM : ServerOptimizerStrategy
{
    /// <summary>Server momentum beta.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <inheritdoc />
    public override string Name => "fedavgm";

    /// <inheritdoc />
    protected override void Update(int round, Span<float> weights, ReadOnlySpan<float> delta, Span<float> m, Span<float> v)
    {
        float beta = (float)Momentum;
        float eta = (float)ServerLearningRate;
        for (int i = 0; i < weights.Length; i++)
        {
            m[i] = (beta * m[i]) + delta[i];
            weights[i] += eta * m[i];
        }
    }
}
