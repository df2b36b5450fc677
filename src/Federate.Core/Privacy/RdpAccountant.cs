using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federate.Core.Privacy;

/// <summary>
/// Renyi-DP accountant for the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019), computing
/// the same numbers as Opacus 1.5.4's <c>RDPAccountant</c>: per-order RDP summed over the history, converted to
/// (epsilon, delta)-DP with the bound of Balle et al. (2020) and minimized over the orders.
/// </summary>
/// <remarks>Not thread-safe: synchronize calls to <see cref="Step"/> with readers.</remarks>
public sealed partial class RdpAccountant
{
    private const string StateFormat = "federate.rdp_accountant";
    private const int StateVersion = 1;

    /// <summary>The noise search gives up once the noise multiplier would exceed this (as Opacus does).</summary>
    public const double MaxNoiseMultiplier = 1e6;

    private static readonly double[] DefaultOrdersArray = BuildDefaultOrders();

    private const int OneStepCacheLimit = 1024; // at most about 1.2 MB of cached vectors

    private static readonly ConcurrentDictionary<(double Q, double Sigma), double[]> OneStepCache = new();

    private readonly List<RdpHistoryEntry> _history = [];

    /// <summary>
    /// The default RDP orders (151): <c>1 + x / 10.0</c> for x = 1..99, then the integers 12..63.
    /// </summary>
    public static IReadOnlyList<double> DefaultOrders { get; } = new ReadOnlyCollection<double>(DefaultOrdersArray);

    /// <summary>The recorded history, oldest first; consecutive steps with equal parameters are merged.</summary>
    public IReadOnlyList<RdpHistoryEntry> History => _history.AsReadOnly();

    /// <summary>
    /// Records <paramref name="steps"/> steps with the given noise multiplier and sample rate. When the last entry
    /// has the same noise multiplier and sample rate its step count grows instead (like Opacus' <c>step</c>).
    /// Zero steps record nothing.
    /// </summary>
    public void Step(double noiseMultiplier, double sampleRate, int steps = 1)
    {
        ValidateMechanism(noiseMultiplier, sampleRate, steps);
        if (steps == 0)
        {
            return;
        }

        if (_history.Count > 0)
        {
            var last = _history[^1];
            if (last.NoiseMultiplier == noiseMultiplier && last.SampleRate == sampleRate)
            {
                _history[^1] = last with { Steps = checked(last.Steps + steps) };
                return;
            }
        }

        _history.Add(new RdpHistoryEntry(noiseMultiplier, sampleRate, steps));
    }

    /// <summary>The epsilon spent so far at the given delta (over <see cref="DefaultOrders"/>).</summary>
    public double GetEpsilon(double delta) => GetPrivacySpent(delta).Epsilon;

    /// <summary>
    /// The (epsilon, delta)-DP guarantee of the history over <see cref="DefaultOrders"/>: the minimum over the
    /// orders of the converted bound, and the order reaching it. An empty history gives (0, 0) like Opacus.
    /// </summary>
    public (double Epsilon, double BestAlpha) GetPrivacySpent(double delta) => GetPrivacySpent(delta, DefaultOrdersArray);

    /// <summary>As <see cref="GetPrivacySpent(double)"/> over caller-chosen orders (each &gt; 1).</summary>
    public (double Epsilon, double BestAlpha) GetPrivacySpent(double delta, IReadOnlyList<double> orders)
    {
        ValidateDelta(delta);
        ArgumentNullException.ThrowIfNull(orders);
        ValidateOrders(orders);
        if (_history.Count == 0)
        {
            return (0.0, 0.0);
        }

        var total = ComputeTotalRdp(_history, orders);
        return PrivacySpentFromRdp(orders, total, delta);
    }

    /// <summary>
    /// Per-order RDP of <paramref name="steps"/> steps of the sampled Gaussian mechanism with sample rate
    /// <paramref name="q"/> and noise multiplier <paramref name="sigma"/> (one step's RDP times steps).
    /// </summary>
    public static double[] ComputeRdp(double q, double sigma, int steps, IReadOnlyList<double> orders)
    {
        ValidateMechanism(sigma, q, steps, nameof(sigma), nameof(q));
        ArgumentNullException.ThrowIfNull(orders);
        ValidateOrders(orders);
        var rdp = new double[orders.Count];
        for (int k = 0; k < rdp.Length; k++)
        {
            rdp[k] = PrivacyMath.RdpOneStep(q, sigma, orders[k]) * steps;
        }

        return rdp;
    }

    /// <summary>
    /// Converts per-order RDP to (epsilon, delta)-DP (Balle et al. 2020, Thm. 21):
    /// <c>eps(a) = rdp(a) - (ln delta + ln a) / (a - 1) + ln((a - 1) / a)</c>, minimized over the orders (the first
    /// order wins ties; no clamping at 0). Returns (infinity, NaN) when every order gives NaN.
    /// </summary>
    public static (double Epsilon, double BestAlpha) PrivacySpentFromRdp(
        IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        ValidateDelta(delta);
        if (orders.Count != rdp.Count || orders.Count == 0)
        {
            throw new ArgumentException(
                $"orders and rdp must be non-empty and of equal length (got {orders.Count} and {rdp.Count}).", nameof(rdp));
        }

        double logDelta = Math.Log(delta);
        double best = double.NaN;
        double bestAlpha = double.NaN;
        for (int k = 0; k < orders.Count; k++)
        {
            double a = orders[k];
            double eps = rdp[k] - (logDelta + Math.Log(a)) / (a - 1) + Math.Log((a - 1) / a);
            if (!double.IsNaN(eps) && (double.IsNaN(best) || eps < best))
            {
                best = eps;
                bestAlpha = a;
            }
        }

        return double.IsNaN(best) ? (double.PositiveInfinity, double.NaN) : (best, bestAlpha);
    }

    /// <summary>
    /// The noise multiplier that keeps <paramref name="steps"/> steps at sample rate <paramref name="sampleRate"/>
    /// within <paramref name="targetEpsilon"/> at <paramref name="delta"/>, by the standard search: sigma_high
    /// starts at 10 and doubles until eps(sigma_high) &lt;= target (first try 20); then bisection on
    /// [0, sigma_high] while target - eps(sigma_high) &gt; tolerance, returning sigma_high.
    /// </summary>
    /// <exception cref="ArgumentException">No noise multiplier up to <see cref="MaxNoiseMultiplier"/> reaches the target.</exception>
    public static double GetNoiseMultiplier(
        double targetEpsilon, double delta, double sampleRate, int steps, double epsilonTolerance = 0.01)
    {
        if (!(targetEpsilon > 0) || double.IsPositiveInfinity(targetEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon,
                "targetEpsilon must be finite and > 0.");
        }

        ValidateDelta(delta);
        ValidateMechanism(0.0, sampleRate, steps);
        if (!(epsilonTolerance > 0) || double.IsPositiveInfinity(epsilonTolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilonTolerance), epsilonTolerance,
                "epsilonTolerance must be finite and > 0.");
        }

        double EpsilonAt(double sigma) =>
            PrivacySpentFromRdp(DefaultOrdersArray, ComputeRdp(sampleRate, sigma, steps, DefaultOrdersArray), delta).Epsilon;

        double epsHigh = double.PositiveInfinity;
        double sigmaLow = 0.0;
        double sigmaHigh = 10.0;
        while (epsHigh > targetEpsilon)
        {
            sigmaHigh = 2 * sigmaHigh;
            epsHigh = EpsilonAt(sigmaHigh);
            if (sigmaHigh > MaxNoiseMultiplier)
            {
                throw new ArgumentException(
                    $"The privacy budget is too low: no noise multiplier up to {MaxNoiseMultiplier:G} reaches epsilon {targetEpsilon:R} at delta {delta:R}.",
                    nameof(targetEpsilon));
            }
        }

        while (targetEpsilon - epsHigh > epsilonTolerance)
        {
            double sigma = (sigmaLow + sigmaHigh) / 2;
            double eps = EpsilonAt(sigma);
            if (eps < targetEpsilon)
            {
                sigmaHigh = sigma;
                epsHigh = eps;
            }
            else
            {
                sigmaLow = sigma;
            }
        }

        return sigmaHigh;
    }

    /// <summary>
    /// Serializes the history to JSON:
    /// <c>{"format":"federate.rdp_accountant","version":1,"history":[{"noise_multiplier","sample_rate","steps"}]}</c>.
    /// Doubles are written in shortest round-trip form, so <see cref="ImportState"/> restores them exactly.
    /// </summary>
    public string ExportState() =>
        JsonSerializer.Serialize(new ExportedState(StateFormat, StateVersion, [.. _history]), StateJson.Default.ExportedState);

    /// <summary>The exported state: format tag, version and the history in order.</summary>
    private sealed record ExportedState(string Format, int Version, IReadOnlyList<RdpHistoryEntry> History);

    /// <summary>The exported state's JSON (snake case, compact; doubles in shortest round-trip form).</summary>
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
    [JsonSerializable(typeof(ExportedState))]
    private sealed partial class StateJson : JsonSerializerContext;

    /// <summary>Restores an accountant written by <see cref="ExportState"/>.</summary>
    /// <exception cref="FormatException">The text is not a valid accountant state.</exception>
    public static RdpAccountant ImportState(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("the root must be a JSON object");
            }

            if (!root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
                || format.GetString() != StateFormat)
            {
                throw Invalid($"\"format\" must be \"{StateFormat}\"");
            }

            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number
                || !version.TryGetInt32(out int v) || v != StateVersion)
            {
                throw Invalid($"\"version\" must be {StateVersion}");
            }

            if (!root.TryGetProperty("history", out var history) || history.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("\"history\" must be an array");
            }

            var accountant = new RdpAccountant();
            int index = 0;
            foreach (var item in history.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid($"history[{index}] must be an object");
                }

                double sigma = ReadDouble(item, "noise_multiplier", index);
                double q = ReadDouble(item, "sample_rate", index);
                if (!item.TryGetProperty("steps", out var stepsEl) || stepsEl.ValueKind != JsonValueKind.Number
                    || !stepsEl.TryGetInt32(out int steps))
                {
                    throw Invalid($"history[{index}].steps must be an integer");
                }

                try
                {
                    ValidateMechanism(sigma, q, steps);
                }
                catch (ArgumentOutOfRangeException ex)
                {
                    throw Invalid($"history[{index}]: {FirstLine(ex.Message)}");
                }

                // Entries are restored verbatim (no merging) so the export round-trips exactly.
                accountant._history.Add(new RdpHistoryEntry(sigma, q, steps));
                index++;
            }

            return accountant;
        }
        catch (JsonException ex)
        {
            throw Invalid($"not valid JSON ({FirstLine(ex.Message)})");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static double[] BuildDefaultOrders()
    {
        var orders = new double[151];
        for (int x = 1; x <= 99; x++)
        {
            orders[x - 1] = 1 + x / 10.0;
        }

        for (int a = 12; a <= 63; a++)
        {
            orders[99 + a - 12] = a;
        }

        return orders;
    }

    private static double[] ComputeTotalRdp(List<RdpHistoryEntry> history, IReadOnlyList<double> orders)
    {
        var total = new double[orders.Count];
        foreach (var e in history)
        {
            var oneStep = OneStepRdp(e.SampleRate, e.NoiseMultiplier, orders);
            for (int k = 0; k < total.Length; k++)
            {
                total[k] += oneStep[k] * e.Steps;
            }
        }

        return total;
    }

    /// <summary>
    /// One step's RDP at every order. Over the default orders the vector is cached per (q, sigma): a client's rounds
    /// repeat the same mechanism, and the fractional orders' series cost far more than a round of training on small
    /// data. The numbers are the same as computed afresh (the cache holds exactly what <see cref="PrivacyMath.RdpOneStep"/> returned).
    /// </summary>
    private static double[] OneStepRdp(double q, double sigma, IReadOnlyList<double> orders)
    {
        bool cacheable = ReferenceEquals(orders, DefaultOrdersArray);
        if (cacheable && OneStepCache.TryGetValue((q, sigma), out var cached))
        {
            return cached;
        }

        var rdp = new double[orders.Count];
        for (int k = 0; k < rdp.Length; k++)
        {
            rdp[k] = PrivacyMath.RdpOneStep(q, sigma, orders[k]);
        }

        if (cacheable)
        {
            if (OneStepCache.Count >= OneStepCacheLimit)
            {
                OneStepCache.Clear();
            }

            OneStepCache[(q, sigma)] = rdp;
        }

        return rdp;
    }

    private static void ValidateMechanism(
        double noiseMultiplier, double sampleRate, int steps,
        string sigmaName = "noiseMultiplier", string qName = "sampleRate")
    {
        if (!(noiseMultiplier >= 0) || double.IsPositiveInfinity(noiseMultiplier))
        {
            throw new ArgumentOutOfRangeException(sigmaName, noiseMultiplier,
                $"{sigmaName} must be finite and >= 0.");
        }

        if (!(sampleRate >= 0 && sampleRate <= 1))
        {
            throw new ArgumentOutOfRangeException(qName, sampleRate, $"{qName} must be in [0, 1].");
        }

        if (steps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be >= 0.");
        }
    }

    private static void ValidateDelta(double delta)
    {
        if (!(delta > 0 && delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta must be in (0, 1).");
        }
    }

    private static void ValidateOrders(IReadOnlyList<double> orders)
    {
        for (int k = 0; k < orders.Count; k++)
        {
            if (!(orders[k] > 1))
            {
                throw new ArgumentOutOfRangeException(nameof(orders), orders[k],
                    $"orders[{k}] must be > 1 (RDP orders lie in (1, infinity]).");
            }
        }
    }

    private static double ReadDouble(JsonElement item, string name, int index)
    {
        if (!item.TryGetProperty(name, out var el) || el.ValueKind != JsonValueKind.Number || !el.TryGetDouble(out double value))
        {
            throw Invalid($"history[{index}].{name} must be a number");
        }

        return value;
    }

    private static FormatException Invalid(string reason) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Invalid RDP accountant state: {reason}."));

    private static string FirstLine(string message)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        return nl < 0 ? message : message[..nl];
    }
}
