using System.CommandLine;

namespace Federate.Cli.Commands;

/// <summary>The strategy parameters shared by <c>federate sim</c> and <c>federate server</c>.</summary>
internal sealed class StrategyCliOptions : OptionGroup
{
    private readonly Option<bool> _acceptFailures = CommonOptions.Create("--accept-failures", "Aggregate a round even when some clients failed (false keeps the previous model).", true, "true|false");
    private readonly Option<double> _proximalMu = CommonOptions.Create("--proximal-mu", "fedprox: weight mu of the proximal term.", 0.1, "MU");
    private readonly Option<double?> _serverLr = CommonOptions.CreateOptional<double?>("--server-lr", "fedadam, fedyogi, fedadagrad, fedavgm: server learning rate (defaults 0.01, 0.01, 0.05, 1.0).", "ETA");
    private readonly Option<double> _beta1 = CommonOptions.Create("--beta1", "fedadam, fedyogi: first-moment decay.", 0.9, "B");
    private readonly Option<double> _beta2 = CommonOptions.Create("--beta2", "fedadam, fedyogi: second-moment decay.", 0.99, "B");
    private readonly Option<double?> _tau = CommonOptions.CreateOptional<double?>("--tau", "fedadam, fedyogi, fedadagrad: adaptivity (default 1e-3).", "TAU");
    private readonly Option<double> _momentum = CommonOptions.Create("--server-momentum", "fedavgm: server momentum.", 0.9, "B");
    private readonly Option<double> _trim = CommonOptions.Create("--trim-fraction", "trimmed-mean: fraction trimmed at each end per coordinate, in [0, 0.5).", 0.2, "F");
    private readonly Option<int> _byzantine = CommonOptions.Create("--byzantine", "krum, multi-krum, bulyan: number of Byzantine clients tolerated.", 1, "F");
    private readonly Option<int?> _keep = CommonOptions.CreateOptional<int?>("--keep", "multi-krum: models averaged (default n - f).", "M");
    private readonly Option<double> _q = CommonOptions.Create("--q", "qfedavg: fairness exponent q.", 0.2, "Q");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_acceptFailures, _proximalMu, _serverLr, _beta1, _beta2, _tau, _momentum, _trim, _byzantine, _keep, _q];

    /// <summary>Reads the parameters; q-FedAvg's Lipschitz estimate uses the clients' learning rate.</summary>
    public StrategyOptions Read(ParseResult parse, double clientLearningRate) => new()
    {
        AcceptFailures = parse.GetValue(_acceptFailures),
        ProximalMu = parse.GetValue(_proximalMu),
        ServerLearningRate = parse.GetValue(_serverLr),
        Beta1 = parse.GetValue(_beta1),
        Beta2 = parse.GetValue(_beta2),
        Tau = parse.GetValue(_tau),
        ServerMomentum = parse.GetValue(_momentum),
        TrimFraction = parse.GetValue(_trim),
        Byzantine = parse.GetValue(_byzantine),
        Keep = parse.GetValue(_keep),
        Q = parse.GetValue(_q),
        QffedavgLearningRate = clientLearningRate,
    };
}
