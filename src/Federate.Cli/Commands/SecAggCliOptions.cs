using System.CommandLine;
using Federate.Core.SecureAggregation;

namespace Federate.Cli.Commands;

/// <summary>The command-line options of <see cref="SecAggPlusSettings"/>, shared by <c>federate sim</c> and <c>federate server</c>.</summary>
internal sealed class SecAggCliOptions : OptionGroup
{
    private readonly Option<bool> _secagg = new("--secagg") { Description = "Secure aggregation (SecAgg+): clients mask their updates so the server learns only their sum, with dropouts recovered." };
    private readonly Option<int?> _shares = CommonOptions.CreateOptional<int?>("--secagg-shares", "Secure aggregation: neighbours each client shares its secrets with (default 2*ceil(log2 n)).", "K");
    private readonly Option<int?> _threshold = CommonOptions.CreateOptional<int?>("--secagg-threshold", "Secure aggregation: shares needed to rebuild a secret (default a majority of the neighbours).", "T");
    private readonly Option<double> _clip = CommonOptions.Create("--secagg-clip", "Secure aggregation: weighted update values are clipped to [-C, C] before quantization.", 8.0, "C");
    private readonly Option<long> _quantization = CommonOptions.Create("--secagg-quantization", "Secure aggregation: quantization levels of [-C, C].", 1L << 22, "Q");
    private readonly Option<long> _modulus = CommonOptions.Create("--secagg-modulus", "Secure aggregation: modulus of the masked integers, a power of two up to 4294967296.", 1L << 32, "M");
    private readonly Option<double> _maxWeight = CommonOptions.Create("--secagg-max-weight", "Secure aggregation: example count at which a client's weight is 1 (set it above the largest client's count for exact FedAvg weights).", 1000.0, "N");
    private readonly Option<double> _timeout = CommonOptions.Create("--secagg-timeout", "Secure aggregation: seconds each stage waits for replies (0 = the round timeout).", 0.0, "SECONDS");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => All;

    /// <summary>The settings, or null without --secagg (then any other --secagg-* option is refused).</summary>
    public SecAggPlusSettings? Read(ParseResult parse)
    {
        if (!parse.GetValue(_secagg))
        {
            if (All.Skip(1).FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } orphan)
            {
                throw new UsageException($"{orphan.Name} needs --secagg");
            }

            return null;
        }

        double seconds = parse.GetValue(_timeout);
        if (!(seconds >= 0))
        {
            throw new UsageException($"--secagg-timeout must be non-negative, got {seconds}");
        }

        return new SecAggPlusSettings
        {
            NumShares = parse.GetValue(_shares),
            ReconstructionThreshold = parse.GetValue(_threshold),
            ClippingRange = parse.GetValue(_clip),
            QuantizationRange = parse.GetValue(_quantization),
            ModulusRange = parse.GetValue(_modulus),
            MaxWeight = parse.GetValue(_maxWeight),
            Timeout = seconds > 0 ? TimeSpan.FromSeconds(seconds) : null,
        };
    }

    private Option[] All => [_secagg, _shares, _threshold, _clip, _quantization, _modulus, _maxWeight, _timeout];
}
