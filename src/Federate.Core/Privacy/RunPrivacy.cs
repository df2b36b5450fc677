namespace Federate.Core.Privacy;

/// <summary>
/// Applies <see cref="PrivacySettings"/> to a run, the same way in a simulation and on a server: wraps the strategy
/// (central DP, then privacy reporting in <c>history.json</c>), sends the DP-SGD settings to the clients in every
/// train config, and adds the run-level budget (<see cref="PrivacySettings.TargetEpsilon"/>) as a stop rule.
/// </summary>
public sealed class RunPrivacy
{
    private readonly PrivacySettings _settings;
    private readonly CentralDpStrategy? _central;

    /// <summary>Wraps <paramref name="strategy"/> as the settings ask; <paramref name="fraction"/> is its train sampling fraction.</summary>
    public RunPrivacy(PrivacySettings settings, Strategy strategy, double fraction)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(strategy);
        _settings = settings;
        if (settings.CentralDp is not null)
        {
            // Central DP samples clients itself (Poisson, rate q), so the inner strategy keeps everyone it is given.
            strategy.Sampling.FractionTrain = 1.0;
            _central = new CentralDpStrategy(strategy, settings.CentralOptions(fraction));
            strategy = _central;
        }

        Strategy = settings.Any ? new PrivacyReportingStrategy(strategy) : strategy;
    }

    /// <summary>The settings.</summary>
    public PrivacySettings Settings => _settings;

    /// <summary>The strategy to run: the given one, wrapped for central DP and privacy reporting when asked.</summary>
    public Strategy Strategy { get; }

    /// <summary>
    /// Adds the DP-SGD settings to the train config and the budget stop rule to <paramref name="options"/>.
    /// <paramref name="projectSampleEpsilon"/> gives the largest sample-level epsilon any client would reach after one
    /// more round (a simulation knows it exactly); null uses the server's own projection from the clients' reports.
    /// </summary>
    public void Configure(RunOptions options, Func<double?>? projectSampleEpsilon = null)
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

        Func<double?>? sample = null;
        if (_settings.DpSgd)
        {
            sample = projectSampleEpsilon ?? (Strategy is PrivacyReportingStrategy reporting ? reporting.ProjectNextRoundSampleEpsilon : null);
        }

        options.StopRules.Add(PrivacyRunBudget.CreateRule(target, _settings.Delta, _central, sample));
    }
}
