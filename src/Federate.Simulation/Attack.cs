using System.Globalization;
using Federate.Core;

namespace Federate.Simulation;

/// <summary>
/// A simulated attack: a fraction of the virtual clients (chosen once per run from the seed) are malicious.
/// Parsed from <c>--attack KIND:FRACTION</c>, e.g. <c>sign-flip:0.2</c>.
/// </summary>
public sealed class Attack
{
    private readonly HashSet<int> _attackers;

    private Attack(AttackKind kind, double fraction, int clients, int seed)
    {
        Kind = kind;
        Fraction = fraction;
        Clients = clients;
        int count = (int)Math.Round(fraction * clients, MidpointRounding.AwayFromZero);
        var ids = Enumerable.Range(0, clients).ToArray();
        new Random(Seeds.Derive(seed, 0, "attackers")).Shuffle(ids);
        _attackers = [.. ids.Take(count)];
    }

    /// <summary>The kind of attack.</summary>
    public AttackKind Kind { get; }

    /// <summary>The fraction of malicious clients.</summary>
    public double Fraction { get; }

    /// <summary>Total clients.</summary>
    public int Clients { get; }

    /// <summary>Partition ids of the malicious clients.</summary>
    public IReadOnlyCollection<int> Attackers => _attackers;

    /// <summary>Parses "KIND:FRACTION"; throws <see cref="ArgumentException"/> with a one-line message.</summary>
    public static Attack Parse(string spec, int clients, int seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split(':');
        const string Usage = "use --attack KIND:FRACTION with KIND one of sign-flip, gaussian, label-flip, scale (e.g. sign-flip:0.2)";
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
        {
            throw new ArgumentException($"invalid attack '{spec}'; {Usage}");
        }

        var kind = parts[0].ToLowerInvariant() switch
        {
            "sign-flip" => AttackKind.SignFlip,
            "gaussian" => AttackKind.Gaussian,
            "label-flip" => AttackKind.LabelFlip,
            "scale" => AttackKind.Scale,
            _ => throw new ArgumentException($"unknown attack kind '{parts[0]}'; {Usage}"),
        };
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentException($"attack fraction must be in (0, 1), got {parts[1]}");
        }

        return new Attack(kind, fraction, clients, seed);
    }

    /// <summary>True when the client with this partition id is malicious.</summary>
    public bool IsAttacker(int partitionId) => _attackers.Contains(partitionId);

    /// <summary>True when malicious clients poison their labels instead of their updates.</summary>
    public bool PoisonsLabels => Kind == AttackKind.LabelFlip;

    /// <summary>
    /// A client mod that turns a malicious client's honest train reply into the attack's update (for the kinds that
    /// poison updates; label flipping happens in the data).
    /// </summary>
    public ClientMod CreateMod(int seed) => async (message, next, cancellationToken) =>
    {
        var reply = await next(message, cancellationToken).ConfigureAwait(false);
        if (Kind == AttackKind.LabelFlip || message.Metadata.MessageType != MessageType.Train || reply.Content is null
            || !message.Content!.Arrays.TryGetValue(RecordNames.Model, out var global) || !reply.Content.Arrays.TryGetValue(RecordNames.Model, out var local))
        {
            return reply;
        }

        var rng = new Random(Seeds.Derive(seed, message.Metadata.Round, message.Metadata.DestinationNodeId, "attack"));
        double norm = UpdateMath.Distance(local, global);
        double gaussianScale = 0;
        if (Kind == AttackKind.Gaussian)
        {
            // Draw the direction first so its norm can be matched to the honest update's.
            gaussianScale = norm;
        }

        var noise = Kind == AttackKind.Gaussian ? UpdateMath.Map(global, (i, t) => Gaussian(rng, t)) : null;
        double noiseNorm = noise is null ? 1 : Math.Sqrt(noise.Sum(kv => kv.Value.DType == DType.Float32 ? SumSquares(kv.Value.AsSpan<float>()) : 0));
        var poisoned = UpdateMath.Map(global, (i, g) =>
        {
            if (g.DType != DType.Float32)
            {
                return UpdateMath.At(local, i);
            }

            var gw = g.AsSpan<float>();
            var lw = UpdateMath.At(local, i).AsSpan<float>();
            var result = Tensor.Zeros(DType.Float32, [.. g.Shape]);
            var r = result.AsSpan<float>();
            for (int j = 0; j < r.Length; j++)
            {
                float delta = lw[j] - gw[j];
                r[j] = Kind switch
                {
                    AttackKind.SignFlip => gw[j] - (10f * delta),
                    AttackKind.Scale => gw[j] + (Clients * delta),
                    _ => gw[j] + (float)(gaussianScale / noiseNorm * UpdateMath.At(noise!, i).AsSpan<float>()[j]),
                };
            }

            return result;
        });
        reply.Content.Arrays[RecordNames.Model] = poisoned;
        return reply;
    };

    private static Tensor Gaussian(Random rng, Tensor like)
    {
        var t = Tensor.Zeros(DType.Float32, [.. like.Shape]);
        var s = t.AsSpan<float>();
        for (int i = 0; i < s.Length; i++)
        {
            // Box-Muller.
            double u1 = 1.0 - rng.NextDouble();
            double u2 = rng.NextDouble();
            s[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return t;
    }

    private static double SumSquares(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x)
        {
            s += (double)v * v;
        }

        return s;
    }
}
