using System.CommandLine;
using Federate.Core.Privacy;

namespace Federate.Cli.Commands;

/// <summary>The command-line options of <see cref="PrivacySettings"/>.</summary>
internal sealed class PrivacyOptions : OptionGroup
{
    private readonly DpSgdCliOptions _dp = new(OptionRole.Server);
    private readonly Option<string?> _central = CommonOptions.CreateOptional<string>("--central-dp", "User-level central DP on the server: fixed or adaptive clipping of client updates plus Gaussian noise.", "fixed|adaptive");
    private readonly Option<double> _clipNorm = CommonOptions.Create("--clip-norm", "Central DP: clip norm S of client updates (adaptive: initial value).", 1.0, "S");
    private readonly Option<double> _quantile = CommonOptions.Create("--target-quantile", "Adaptive central DP: target quantile of update norms left unclipped.", 0.5, "GAMMA");
    private readonly Option<double> _clipLr = CommonOptions.Create("--clip-lr", "Adaptive central DP: learning rate of the clip norm.", 0.2, "ETA");
    private readonly Option<double> _centralNoise = CommonOptions.Create("--central-noise-multiplier", "Central DP: noise std on the sum of clipped updates, in units of the clip norm.", 1.0, "Z");
    private readonly Option<double?> _clientRate = CommonOptions.CreateOptional<double?>("--client-sample-rate", "Central DP: Poisson probability that a client takes part in a round (default --fraction).", "Q");
    private readonly Option<double?> _countStddev = CommonOptions.CreateOptional<double?>("--clipped-count-stddev", "Adaptive central DP: noise std on the unclipped count (default max(m/20, z)).", "SIGMA_B");
    private readonly Option<double?> _target = CommonOptions.CreateOptional<double?>("--target-epsilon", "Stop before a round that would raise epsilon above this (user-level with --central-dp, sample-level with --dp-sgd).", "EPS");
    private readonly Option<double?> _maxEpsilon = CommonOptions.CreateOptional<double?>("--max-epsilon", "Every client refuses training that would raise its own sample-level epsilon above this.", "EPS");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => All;

    public PrivacySettings Read(ParseResult parse)
    {
        var settings = new PrivacySettings
        {
            DpSgd = _dp.DpSgd(parse),
            NoiseMultiplier = _dp.NoiseMultiplier(parse),
            MaxGradNorm = _dp.MaxGradNorm(parse),
            Delta = _dp.Delta(parse),
            CentralDp = parse.GetValue(_central)?.Trim().ToLowerInvariant(),
            ClipNorm = parse.GetValue(_clipNorm),
            TargetQuantile = parse.GetValue(_quantile),
            ClipLearningRate = parse.GetValue(_clipLr),
            CentralNoiseMultiplier = parse.GetValue(_centralNoise),
            ClientSampleRate = parse.GetValue(_clientRate),
            ClippedCountStddev = parse.GetValue(_countStddev),
            TargetEpsilon = parse.GetValue(_target),
            MaxEpsilon = parse.GetValue(_maxEpsilon),
        };

        // Options that would silently do nothing without the mode they belong to are refused.
        foreach (var name in All.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name))
        {
            Require(!DpSgdOnly.Contains(name) || settings.DpSgd, $"{name} needs --dp-sgd");
            Require(!CentralOnly.Contains(name) || settings.CentralDp is not null, $"{name} needs --central-dp");
            Require(!AdaptiveOnly.Contains(name) || settings.CentralDp == "adaptive", $"{name} needs --central-dp adaptive");
        }

        return settings;
    }

    private static readonly string[] DpSgdOnly = ["--noise-multiplier", "--max-grad-norm"];
    private static readonly string[] CentralOnly = ["--clip-norm", "--central-noise-multiplier", "--client-sample-rate"];
    private static readonly string[] AdaptiveOnly = ["--target-quantile", "--clip-lr", "--clipped-count-stddev"];

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new UsageException(message);
        }
    }

    private Option[] All => [.. _dp.All, _central, _clipNorm, _quantile, _clipLr, _centralNoise, _clientRate, _countStddev, _target, _maxEpsilon];
}
