using System.CommandLine;
using System.Globalization;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning;

namespace Federate.Cli.Commands;

/// <summary>The differential-privacy settings of <c>federate sim</c>.</summary>
internal sealed class PrivacySettings
{
    public bool DpSgd { get; set; }
    public double NoiseMultiplier { get; set; } = 1.0;
    public double MaxGradNorm { get; set; } = 1.0;
    public double Delta { get; set; } = 1e-5;
    public string? CentralDp { get; set; }
    public double ClipNorm { get; set; } = 1.0;
    public double TargetQuantile { get; set; } = 0.5;
    public double ClipLearningRate { get; set; } = 0.2;
    public double CentralNoiseMultiplier { get; set; } = 1.0;
    public double? ClientSampleRate { get; set; }
    public double? ClippedCountStddev { get; set; }
    public double? TargetEpsilon { get; set; }
    public double? MaxEpsilon { get; set; }

    public bool Any => DpSgd || CentralDp is not null;

    /// <summary>Options given explicitly on the command line (to refuse ones that would silently do nothing).</summary>
    public IReadOnlyList<string> Explicit { get; set; } = [];

    /// <summary>Checks ranges and combinations; throws <see cref="UsageException"/>.</summary>
    public void Validate(string model, string strategy, double fraction)
    {
        if (DpSgd)
        {
            if (model.Trim().Equals("gaussian-nb", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException(ClientDpSgd.NotSgdMessage);
            }

            var dp = new DpSgdOptions { NoiseMultiplier = NoiseMultiplier, MaxGradNorm = MaxGradNorm };
            Require(dp.Validate());
        }

        Require(Delta > 0 && Delta < 1 ? null : $"--delta must be in (0, 1), got {F(Delta)}");
        foreach (var name in Explicit)
        {
            Require(!DpSgdOnly.Contains(name) || DpSgd ? null : $"{name} needs --dp-sgd");
            Require(!CentralOnly.Contains(name) || CentralDp is not null ? null : $"{name} needs --central-dp");
            Require(!AdaptiveOnly.Contains(name) || CentralDp == "adaptive" ? null : $"{name} needs --central-dp adaptive");
        }

        if (CentralDp is not null)
        {
            Require(CentralDp is "fixed" or "adaptive" ? null : $"--central-dp must be fixed or adaptive, got '{CentralDp}'");
            Require(CentralStrategies.Contains(strategy.ToLowerInvariant()) ? null : $"--central-dp works with the averaging strategies ({string.Join(", ", CentralStrategies)}), not '{strategy}'");
            Require(CentralOptions(fraction).Validate());
        }

        Require(TargetEpsilon is null || TargetEpsilon > 0 ? null : $"--target-epsilon must be positive, got {TargetEpsilon}");
        Require(TargetEpsilon is null || Any ? null : "--target-epsilon needs --dp-sgd or --central-dp");
        Require(MaxEpsilon is null || MaxEpsilon > 0 ? null : $"--max-epsilon must be positive, got {MaxEpsilon}");
        Require(MaxEpsilon is null || DpSgd ? null : "--max-epsilon needs --dp-sgd (it caps each client's own sample-level epsilon)");
    }

    public CentralDpOptions CentralOptions(double fraction) => new()
    {
        Clipping = CentralDp == "adaptive" ? CentralClipping.Adaptive : CentralClipping.Fixed,
        NoiseMultiplier = CentralNoiseMultiplier,
        ClipNorm = ClipNorm,
        SampleRate = ClientSampleRate ?? fraction,
        TargetQuantile = TargetQuantile,
        ClipLearningRate = ClipLearningRate,
        ClippedCountStddev = ClippedCountStddev,
        Delta = Delta,
    };

    /// <summary>Adds the settings in use to history.json's "config".</summary>
    public void AddTo(IDictionary<string, object?> config, double fraction)
    {
        if (DpSgd)
        {
            config["dp_sgd"] = true;
            config["noise_multiplier"] = NoiseMultiplier;
            config["max_grad_norm"] = MaxGradNorm;
        }

        if (CentralDp is not null)
        {
            config["central_dp"] = CentralDp;
            config["central_noise_multiplier"] = CentralNoiseMultiplier;
            config["clip_norm"] = ClipNorm;
            config["client_sample_rate"] = ClientSampleRate ?? fraction;
            if (CentralDp == "adaptive")
            {
                config["target_quantile"] = TargetQuantile;
                config["clip_lr"] = ClipLearningRate;
                config["clipped_count_stddev"] = ClippedCountStddev;
            }
        }

        if (Any)
        {
            config["delta"] = Delta;
            config["target_epsilon"] = TargetEpsilon;
            config["max_epsilon"] = MaxEpsilon;
        }
    }

    private static readonly string[] DpSgdOnly = ["--noise-multiplier", "--max-grad-norm"];
    private static readonly string[] CentralOnly = ["--clip-norm", "--central-noise-multiplier", "--client-sample-rate"];
    private static readonly string[] AdaptiveOnly = ["--target-quantile", "--clip-lr", "--clipped-count-stddev"];
    private static readonly string[] CentralStrategies = ["fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad"];

    private static void Require(string? problem)
    {
        if (problem is not null)
        {
            throw new UsageException(problem);
        }
    }

    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The command-line options of <see cref="PrivacySettings"/>.</summary>
internal sealed class PrivacyOptions
{
    private readonly Option<bool> _dpSgd = new("--dp-sgd") { Description = "Train every client with DP-SGD (Poisson sampling, per-example clipping, Gaussian noise); sample-level DP. Not for gaussian-nb." };
    private readonly Option<double> _noise = CommonOptions.Create("--noise-multiplier", "DP-SGD: noise std on the clipped gradient sum, in units of --max-grad-norm.", 1.0, "SIGMA");
    private readonly Option<double> _maxGradNorm = CommonOptions.Create("--max-grad-norm", "DP-SGD: per-example gradient clip norm C.", 1.0, "C");
    private readonly Option<double> _delta = CommonOptions.Create("--delta", "Delta of every reported epsilon.", 1e-5, "DELTA");
    private readonly Option<string?> _central = CommonOptions.CreateOptional<string>("--central-dp", "User-level central DP on the server: fixed or adaptive clipping of client updates plus Gaussian noise.", "fixed|adaptive");
    private readonly Option<double> _clipNorm = CommonOptions.Create("--clip-norm", "Central DP: clip norm S of client updates (adaptive: initial value).", 1.0, "S");
    private readonly Option<double> _quantile = CommonOptions.Create("--target-quantile", "Adaptive central DP: target quantile of update norms left unclipped.", 0.5, "GAMMA");
    private readonly Option<double> _clipLr = CommonOptions.Create("--clip-lr", "Adaptive central DP: learning rate of the clip norm.", 0.2, "ETA");
    private readonly Option<double> _centralNoise = CommonOptions.Create("--central-noise-multiplier", "Central DP: noise std on the sum of clipped updates, in units of the clip norm.", 1.0, "Z");
    private readonly Option<double?> _clientRate = CommonOptions.CreateOptional<double?>("--client-sample-rate", "Central DP: Poisson probability that a client takes part in a round (default --fraction).", "Q");
    private readonly Option<double?> _countStddev = CommonOptions.CreateOptional<double?>("--clipped-count-stddev", "Adaptive central DP: noise std on the unclipped count (default max(m/20, z)).", "SIGMA_B");
    private readonly Option<double?> _target = CommonOptions.CreateOptional<double?>("--target-epsilon", "Stop before a round that would raise epsilon above this (user-level with --central-dp, sample-level with --dp-sgd).", "EPS");
    private readonly Option<double?> _maxEpsilon = CommonOptions.CreateOptional<double?>("--max-epsilon", "Every client refuses training that would raise its own sample-level epsilon above this.", "EPS");

    public void AddTo(Command command)
    {
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    public PrivacySettings Read(ParseResult parse) => new()
    {
        DpSgd = parse.GetValue(_dpSgd),
        NoiseMultiplier = parse.GetValue(_noise),
        MaxGradNorm = parse.GetValue(_maxGradNorm),
        Delta = parse.GetValue(_delta),
        CentralDp = parse.GetValue(_central)?.Trim().ToLowerInvariant(),
        ClipNorm = parse.GetValue(_clipNorm),
        TargetQuantile = parse.GetValue(_quantile),
        ClipLearningRate = parse.GetValue(_clipLr),
        CentralNoiseMultiplier = parse.GetValue(_centralNoise),
        ClientSampleRate = parse.GetValue(_clientRate),
        ClippedCountStddev = parse.GetValue(_countStddev),
        TargetEpsilon = parse.GetValue(_target),
        MaxEpsilon = parse.GetValue(_maxEpsilon),
        Explicit = [.. All.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name)],
    };

    private Option[] All => [_dpSgd, _noise, _maxGradNorm, _delta, _central, _clipNorm, _quantile, _clipLr, _centralNoise, _clientRate, _countStddev, _target, _maxEpsilon];
}

/// <summary>Wires the privacy settings into a simulation: strategy wrappers, client DP-SGD and budgets, budget stop.</summary>
internal sealed class PrivacySetup
{
    private readonly PrivacySettings _settings;
    private readonly ClientPrivacyStore? _store;
    private readonly CentralDpStrategy? _central;

    private PrivacySetup(PrivacySettings settings, Strategy strategy, double fraction)
    {
        _settings = settings;
        if (settings.CentralDp is not null)
        {
            // Central DP samples clients itself (Poisson, rate q), so the inner strategy keeps everyone it is given.
            strategy.Sampling.FractionTrain = 1.0;
            _central = new CentralDpStrategy(strategy, settings.CentralOptions(fraction));
            strategy = _central;
        }

        if (settings.DpSgd)
        {
            _store = new ClientPrivacyStore(settings.Delta);
        }

        Strategy = settings.Any ? new PrivacyReportingStrategy(strategy) : strategy;
    }

    /// <summary>The strategy to run (wrapped when DP is on).</summary>
    public Strategy Strategy { get; }

    public static PrivacySetup Create(PrivacySettings settings, Strategy strategy, double fraction) => new(settings, strategy, fraction);

    /// <summary>The DP-SGD settings and ledger of partition <paramref name="partitionId"/>; null without --dp-sgd.</summary>
    public ClientDpSgd? ClientFor(int partitionId) => _store is null
        ? null
        : new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = _settings.NoiseMultiplier, MaxGradNorm = _settings.MaxGradNorm }, _store.Get(partitionId));

    /// <summary>The client app, with the budget mod first when --max-epsilon is set.</summary>
    public IClientApp App(LearningClient client, params ClientMod[] mods)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (_settings.MaxEpsilon is not { } max)
        {
            return client.ToClientApp(mods);
        }

        var budget = PrivacyBudgetMod.Create(max, m => client.ProjectEpsilon(m.Content?.Configs.TryGetValue(RecordNames.Config, out var c) == true ? c : new ConfigRecord()));
        return client.ToClientApp([budget, .. mods]);
    }

    /// <summary>
    /// For a server: puts the DP-SGD settings in the round config (clients then train with DP-SGD, design 3) and, with
    /// --target-epsilon, the budget check before each round, projecting each client's next round from the
    /// (sigma, q, steps) it last reported.
    /// </summary>
    public void ConfigureServer(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_settings.DpSgd)
        {
            options.TrainConfig[PrivacyNames.NoiseMultiplier] = _settings.NoiseMultiplier;
            options.TrainConfig[PrivacyNames.MaxGradNorm] = _settings.MaxGradNorm;
        }

        if (_settings.TargetEpsilon is { } target)
        {
            var reporting = Strategy as PrivacyReportingStrategy;
            Func<double?>? sample = _settings.DpSgd && reporting is not null ? reporting.ProjectNextRoundSampleEpsilon : null;
            options.BeforeRound = PrivacyRunBudget.Create(target, _settings.Delta, _central, sample);
        }
    }

    /// <summary>
    /// Puts the DP-SGD settings in the round config and, with --target-epsilon, the budget check before each round.
    /// <paramref name="clients"/> builds partition i's client, to project its next round exactly.
    /// </summary>
    public void Configure(RunOptions options, int partitions, Func<int, LearningClient> clients)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_settings.DpSgd)
        {
            options.TrainConfig[PrivacyNames.NoiseMultiplier] = _settings.NoiseMultiplier;
            options.TrainConfig[PrivacyNames.MaxGradNorm] = _settings.MaxGradNorm;
        }

        if (_settings.TargetEpsilon is not { } target)
        {
            return;
        }

        var config = options.TrainConfig;
        Func<double?>? sample = null;
        if (_settings.DpSgd)
        {
            // Exact in simulation: every client's own projection of its next round (sampled or not, so conservative),
            // leaving out clients whose own --max-epsilon would make them refuse that round anyway.
            double cap = _settings.MaxEpsilon ?? double.PositiveInfinity;
            sample = () => Enumerable.Range(0, partitions).Select(pid => clients(pid).ProjectEpsilon(config) ?? 0).Where(e => e <= cap).DefaultIfEmpty(0).Max();
        }

        options.BeforeRound = PrivacyRunBudget.Create(target, _settings.Delta, _central, sample);
    }
}
