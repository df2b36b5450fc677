using System.CommandLine;

namespace Federate.Cli.Commands;

/// <summary>
/// <c>--dp-sgd</c>, <c>--noise-multiplier</c>, <c>--max-grad-norm</c> and <c>--delta</c>: sample-level DP-SGD, shared by
/// sim and server (every client trains with it) and client (a site's own settings when the server does not set them).
/// </summary>
internal sealed class DpSgdCliOptions(OptionRole role) : OptionGroup
{
    private readonly Option<bool> _dpSgd = new("--dp-sgd")
    {
        Description = role == OptionRole.Client
            ? "Always train with DP-SGD (otherwise only when the server's round config asks for it)."
            : "Train every client with DP-SGD (Poisson sampling, per-example clipping, Gaussian noise); sample-level DP. Not for gaussian-nb.",
    };

    private readonly Option<double> _noise = CommonOptions.Create(
        "--noise-multiplier",
        role == OptionRole.Client ? "DP-SGD noise multiplier when the server does not set one." : "DP-SGD: noise std on the clipped gradient sum, in units of --max-grad-norm.",
        1.0,
        "SIGMA");

    private readonly Option<double> _maxGradNorm = CommonOptions.Create(
        "--max-grad-norm",
        role == OptionRole.Client ? "DP-SGD per-example clip norm when the server does not set one." : "DP-SGD: per-example gradient clip norm C.",
        1.0,
        "C");

    private readonly Option<double> _delta = CommonOptions.Create("--delta", role == OptionRole.Client ? "Delta of this client's epsilon." : "Delta of every reported epsilon.", 1e-5, "DELTA");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_dpSgd, _noise, _maxGradNorm, _delta];

    /// <summary><c>--dp-sgd</c>.</summary>
    public bool DpSgd(ParseResult parse) => parse.GetValue(_dpSgd);

    /// <summary><c>--noise-multiplier</c>.</summary>
    public double NoiseMultiplier(ParseResult parse) => parse.GetValue(_noise);

    /// <summary><c>--max-grad-norm</c>.</summary>
    public double MaxGradNorm(ParseResult parse) => parse.GetValue(_maxGradNorm);

    /// <summary><c>--delta</c>.</summary>
    public double Delta(ParseResult parse) => parse.GetValue(_delta);

    /// <summary>The options in help order, for a group that checks which were given.</summary>
    public IEnumerable<Option> All => Options;
}
