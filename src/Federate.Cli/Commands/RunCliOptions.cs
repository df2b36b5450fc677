using System.CommandLine;

namespace Federate.Cli.Commands;

/// <summary>
/// The run options that <c>federate sim</c> and <c>federate server</c> both take, with the same meaning and help
/// text: round limit, client sampling, stop rules, strategy and output folder. Declared once here; a command calls
/// <see cref="OptionGroup.AddTo"/> and reads the values back with the typed getters.
/// </summary>
internal sealed class RunCliOptions : OptionGroup
{
    private readonly Option<int> _rounds;
    private readonly Option<double> _fraction = CommonOptions.Create("--fraction", "Fraction of clients sampled for training each round, in (0, 1].", 1.0, "F");
    private readonly Option<double> _fractionEvaluate = CommonOptions.Create("--fraction-evaluate", "Fraction of clients sampled for evaluation each round, in [0, 1].", 1.0, "F");
    private readonly Option<int> _minFit = CommonOptions.Create("--min-fit-clients", "Minimum clients sampled for training.", 1, "N");
    private readonly Option<int> _minEvaluate = CommonOptions.Create("--min-evaluate-clients", "Minimum clients sampled for evaluation.", 1, "N");
    private readonly Option<double?> _threshold = CommonOptions.CreateOptional<double?>("--threshold", "Stop when the threshold metric changes by less than this between rounds.", "DELTA");
    private readonly Option<string> _thresholdMetric = CommonOptions.Create("--threshold-metric", "Evaluate metric watched by --threshold and --target.", "accuracy", "NAME");
    private readonly Option<string?> _target = CommonOptions.CreateOptional<string>("--target", "Stop once an evaluate metric reaches a value, e.g. accuracy=0.95.", "METRIC=VALUE");
    private readonly Option<string> _strategy = CommonOptions.Create("--strategy", $"Aggregation strategy ({string.Join(", ", StrategyCatalog.Names)}).", "fedavg", "NAME");
    private readonly Option<string> _out = CommonOptions.Create("--out", "Output folder for history.json and model.safetensors.", "out", "DIR");

    /// <summary>Declares the options; <paramref name="defaultRounds"/> is the command's default of <c>--rounds</c>.</summary>
    public RunCliOptions(int defaultRounds)
    {
        _rounds = CommonOptions.Create("--rounds", "Maximum number of rounds.", defaultRounds, "N");
    }

    /// <summary>The option objects, for a command that lists them itself.</summary>
    public Option<int> Rounds => _rounds;

    /// <summary><c>--fraction</c>.</summary>
    public Option<double> Fraction => _fraction;

    /// <summary><c>--fraction-evaluate</c>.</summary>
    public Option<double> FractionEvaluate => _fractionEvaluate;

    /// <summary><c>--min-fit-clients</c>.</summary>
    public Option<int> MinFitClients => _minFit;

    /// <summary><c>--min-evaluate-clients</c>.</summary>
    public Option<int> MinEvaluateClients => _minEvaluate;

    /// <summary><c>--threshold</c>.</summary>
    public Option<double?> Threshold => _threshold;

    /// <summary><c>--threshold-metric</c>.</summary>
    public Option<string> ThresholdMetric => _thresholdMetric;

    /// <summary><c>--target</c>.</summary>
    public Option<string?> Target => _target;

    /// <summary><c>--strategy</c>.</summary>
    public Option<string> Strategy => _strategy;

    /// <summary><c>--out</c>.</summary>
    public Option<string> Out => _out;

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_rounds, _fraction, _fractionEvaluate, _minFit, _minEvaluate, _threshold, _thresholdMetric, _target, _strategy, _out];

    /// <summary><c>--rounds</c>: the round limit.</summary>
    public int GetRounds(ParseResult parse) => parse.GetValue(_rounds);

    /// <summary><c>--fraction</c>: the fraction of clients sampled for training.</summary>
    public double GetFraction(ParseResult parse) => parse.GetValue(_fraction);

    /// <summary><c>--fraction-evaluate</c>: the fraction of clients sampled for evaluation.</summary>
    public double GetFractionEvaluate(ParseResult parse) => parse.GetValue(_fractionEvaluate);

    /// <summary><c>--min-fit-clients</c>.</summary>
    public int GetMinFitClients(ParseResult parse) => parse.GetValue(_minFit);

    /// <summary><c>--min-evaluate-clients</c>.</summary>
    public int GetMinEvaluateClients(ParseResult parse) => parse.GetValue(_minEvaluate);

    /// <summary><c>--threshold</c>, or null when not given.</summary>
    public double? GetThreshold(ParseResult parse) => parse.GetValue(_threshold);

    /// <summary><c>--threshold-metric</c>.</summary>
    public string GetThresholdMetric(ParseResult parse) => parse.GetValue(_thresholdMetric)!;

    /// <summary><c>--target</c> parsed into metric and value, or null when not given.</summary>
    public (string Metric, double Value)? GetTarget(ParseResult parse) => CommonOptions.ParseTarget(parse.GetValue(_target));

    /// <summary><c>--strategy</c>: the strategy name.</summary>
    public string GetStrategy(ParseResult parse) => parse.GetValue(_strategy)!;

    /// <summary><c>--out</c>: the output folder.</summary>
    public string GetOut(ParseResult parse) => parse.GetValue(_out)!;

    /// <summary>Sets the run settings of a simulation: round limit, sampling, stop rules, strategy and output folder.</summary>
    public void ApplyTo(ParseResult parse, Federate.Simulation.SimulationSettings settings)
    {
        settings.Rounds = GetRounds(parse);
        settings.Fraction = GetFraction(parse);
        settings.FractionEvaluate = GetFractionEvaluate(parse);
        settings.MinFitClients = GetMinFitClients(parse);
        settings.MinEvaluateClients = GetMinEvaluateClients(parse);
        settings.Threshold = GetThreshold(parse);
        settings.ThresholdMetric = GetThresholdMetric(parse);
        settings.Target = GetTarget(parse);
        settings.Strategy = GetStrategy(parse);
        settings.Out = GetOut(parse);
    }
}
