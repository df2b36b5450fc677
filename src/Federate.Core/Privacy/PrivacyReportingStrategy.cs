using System.Globalization;

namespace Federate.Core.Privacy;

/// <summary>
/// Turns the clients' DP-SGD fit metrics into the run's privacy metrics (design 3). The example-weighted means of
/// the clients' <c>epsilon</c>, <c>round_epsilon</c> and <c>user_epsilon</c> mean nothing, so they are replaced by:
/// <list type="bullet">
/// <item><c>round_sample_epsilon</c>: max over this round's clients of the sample-level epsilon they report after
/// this round's training (their cumulative spend as of this round; each client's own per-round cost stays in its
/// reply as <c>round_epsilon</c>);</item>
/// <item><c>cumulative_sample_epsilon</c>: max over every client seen so far of its cumulative sample-level epsilon
/// (a client keeps its last value in rounds it sits out, so this never decreases);</item>
/// <item><c>cumulative_user_epsilon</c>: when the inner strategy reports one (central DP), that value; otherwise max
/// over every client seen so far of its client-level epsilon implied by DP-SGD alone.</item>
/// </list>
/// The clients' <c>delta</c>, <c>sample_rate</c>, <c>steps</c> and <c>noise_multiplier</c> become their max over
/// the round's clients (the worst case, not a mean). It also projects the next round's cost from each client's last reported (sigma, q, steps), for budget stops.
/// </summary>
public sealed class PrivacyReportingStrategy : DelegatingStrategy
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, ClientView> _clients = [];

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public PrivacyReportingStrategy(Strategy inner)
        : base(inner)
    {
    }

    /// <summary>Max over clients seen so far of their cumulative sample-level epsilon; 0 before any report.</summary>
    public double CumulativeSampleEpsilon
    {
        get
        {
            lock (_lock)
            {
                return _clients.Count == 0 ? 0 : _clients.Values.Max(c => c.Epsilon);
            }
        }
    }

    /// <summary>
    /// The largest cumulative sample-level epsilon a client would reach if it trained once more as in its last
    /// round (the server learns a client's cost from its replies; null before any client reported DP-SGD metrics).
    /// </summary>
    public double? ProjectNextRoundSampleEpsilon()
    {
        lock (_lock)
        {
            double? max = null;
            foreach (var c in _clients.Values)
            {
                if (c.Accountant.History.Count == 0)
                {
                    continue;
                }

                var copy = RdpAccountant.ImportState(c.Accountant.ExportState());
                var last = c.Accountant.History[^1];
                copy.Step(last.NoiseMultiplier, last.SampleRate, c.LastSteps);
                var eps = copy.GetEpsilon(c.Delta);
                max = max is { } m ? Math.Max(m, eps) : eps;
            }

            return max;
        }
    }

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) => new Aggregator(this, Inner.CreateTrainAggregator(context, global));

    /// <summary>The per-client views (epsilons, accountants) as JSON.</summary>
    protected override string? ExportOwnState()
    {
        lock (_lock)
        {
            var clients = new System.Text.Json.Nodes.JsonArray();
            foreach (var (node, view) in _clients)
            {
                clients.Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["node"] = node,
                    ["epsilon"] = view.Epsilon,
                    ["user_epsilon"] = view.UserEpsilon,
                    ["last_steps"] = view.LastSteps,
                    ["delta"] = view.Delta,
                    ["accountant"] = System.Text.Json.Nodes.JsonNode.Parse(view.Accountant.ExportState()),
                });
            }

            return new System.Text.Json.Nodes.JsonObject { ["format"] = "federate.privacy_reporting", ["clients"] = clients }.ToJsonString();
        }
    }

    /// <summary>Restores the per-client views.</summary>
    protected override void ImportOwnState(string json)
    {
        try
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(json) ?? throw new FormatException("empty privacy state");
            var restored = new Dictionary<long, ClientView>();
            foreach (var c in root["clients"]!.AsArray())
            {
                var view = new ClientView(RdpAccountant.ImportState(c!["accountant"]!.ToJsonString()))
                {
                    Epsilon = c["epsilon"]!.GetValue<double>(),
                    UserEpsilon = c["user_epsilon"]!.GetValue<double>(),
                    LastSteps = c["last_steps"]!.GetValue<int>(),
                    Delta = c["delta"]!.GetValue<double>(),
                };
                restored[c["node"]!.GetValue<long>()] = view;
            }

            lock (_lock)
            {
                _clients.Clear();
                foreach (var (k, v) in restored)
                {
                    _clients[k] = v;
                }
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
        {
            throw new FormatException($"invalid privacy reporting state: {ex.Message}", ex);
        }
    }

    private void Observe(long node, MetricRecord metrics, ref double roundMax)
    {
        if (!metrics.TryGetValue(PrivacyNames.Epsilon, out var eps))
        {
            return;
        }

        lock (_lock)
        {
            if (!_clients.TryGetValue(node, out var view))
            {
                view = new ClientView();
                _clients[node] = view;
            }

            view.Epsilon = Math.Max(view.Epsilon, eps);
            if (metrics.TryGetValue(PrivacyNames.UserEpsilon, out var user))
            {
                view.UserEpsilon = Math.Max(view.UserEpsilon, user);
            }

            if (metrics.TryGetValue(PrivacyNames.NoiseMultiplier, out var sigma) && metrics.TryGetValue(PrivacyNames.SampleRate, out var q)
                && metrics.TryGetValue(PrivacyNames.Steps, out var steps) && metrics.TryGetValue(PrivacyNames.Delta, out var delta))
            {
                view.Accountant.Step(sigma, q, (int)steps);
                view.LastSteps = (int)steps;
                view.Delta = delta;
            }
        }

        // Design 3's round_sample_epsilon: the sample-level epsilon the round's clients report, i.e. their
        // cumulative spend as of this round (the worst one).
        roundMax = Math.Max(roundMax, eps);
    }

    private static readonly string[] MaxMetrics = [PrivacyNames.Delta, PrivacyNames.SampleRate, PrivacyNames.Steps, PrivacyNames.NoiseMultiplier];

    private MetricRecord Finish(MetricRecord inner, double roundMax, Dictionary<string, double> maxima, bool any)
    {
        if (!any)
        {
            return inner;
        }

        var result = new MetricRecord();
        foreach (var (name, value) in inner)
        {
            if (name is not (PrivacyNames.Epsilon or PrivacyNames.RoundEpsilon or PrivacyNames.UserEpsilon))
            {
                result[name] = maxima.TryGetValue(name, out var max) ? max : value;
            }
        }

        lock (_lock)
        {
            result[PrivacyNames.RoundSampleEpsilon] = roundMax;
            result[PrivacyNames.CumulativeSampleEpsilon] = _clients.Values.Max(c => c.Epsilon);
            if (!result.ContainsKey(PrivacyNames.CumulativeUserEpsilon))
            {
                result[PrivacyNames.CumulativeUserEpsilon] = _clients.Values.Max(c => c.UserEpsilon);
            }
        }

        return result;
    }

    private sealed class ClientView(RdpAccountant? accountant = null)
    {
        public double Epsilon { get; set; }

        public double UserEpsilon { get; set; }

        public RdpAccountant Accountant { get; } = accountant ?? new();

        public int LastSteps { get; set; }

        public double Delta { get; set; } = 1e-5;
    }

    private sealed class Aggregator(PrivacyReportingStrategy owner, ITrainAggregator inner) : Strategies.DelegatingTrainAggregator(inner)
    {
        private readonly Dictionary<string, double> _maxima = new(StringComparer.Ordinal);
        private double _roundMax;
        private bool _any;

        protected override void OnAccepted(long nodeId, MetricRecord metrics)
        {
            if (!metrics.ContainsKey(PrivacyNames.Epsilon))
            {
                return;
            }

            owner.Observe(nodeId, metrics, ref _roundMax);
            foreach (var name in MaxMetrics)
            {
                if (metrics.TryGetValue(name, out var v))
                {
                    _maxima[name] = _maxima.TryGetValue(name, out var m) ? Math.Max(m, v) : v;
                }
            }

            _any = true;
        }

        public override AggregateResult Complete()
        {
            var result = Inner.Complete();
            return result with { Metrics = owner.Finish(result.Metrics, _roundMax, _maxima, _any) };
        }
    }

    /// <summary>Formats an epsilon for messages.</summary>
    internal static string Format(double epsilon) => epsilon.ToString("0.####", CultureInfo.InvariantCulture);
}
