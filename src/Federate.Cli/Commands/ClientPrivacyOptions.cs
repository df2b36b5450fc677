using System.CommandLine;
using System.Globalization;
using Federate.Core;
using Federate.Core.Privacy;
using Federate.Learning;

namespace Federate.Cli.Commands;

/// <summary>
/// Privacy options of <c>federate client</c>: a site's own DP-SGD settings, its privacy budget and its ledger. The
/// client trains with DP-SGD when it opts in (<c>--dp-sgd</c>) or when the server's round config asks for it
/// (<c>noise_multiplier</c>, design 3); with <c>--max-epsilon</c> it refuses any round that would take its own
/// sample-level epsilon above the budget, whatever the server says.
/// </summary>
internal sealed class ClientPrivacyOptions : OptionGroup
{
    private readonly DpSgdCliOptions _dp = new(OptionRole.Client);
    private readonly Option<double?> _maxEpsilon = CommonOptions.CreateOptional<double?>("--max-epsilon", "Refuse training that would raise this client's sample-level epsilon above this budget.", "EPS");
    private readonly Option<string?> _ledger = CommonOptions.CreateOptional<string>("--privacy-ledger", "File that keeps this client's privacy ledger across restarts (one file per partition with --virtual-clients).", "FILE");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [.. _dp.All, _maxEpsilon, _ledger];

    /// <summary>The settings, validated.</summary>
    public Settings Read(ParseResult parse, string model)
    {
        var s = new Settings(_dp.DpSgd(parse), _dp.NoiseMultiplier(parse), _dp.MaxGradNorm(parse), _dp.Delta(parse), parse.GetValue(_maxEpsilon), parse.GetValue(_ledger));
        var dp = new DpSgdOptions { NoiseMultiplier = s.NoiseMultiplier, MaxGradNorm = s.MaxGradNorm };
        if (dp.Validate() is { } problem)
        {
            throw new UsageException(problem);
        }

        if (!(s.Delta > 0 && s.Delta < 1))
        {
            throw new UsageException($"--delta must be in (0, 1), got {s.Delta.ToString(CultureInfo.InvariantCulture)}");
        }

        if (s.MaxEpsilon is { } max && !(max > 0))
        {
            throw new UsageException($"--max-epsilon must be positive, got {max.ToString(CultureInfo.InvariantCulture)}");
        }

        if (s.DpSgd && model.Trim().Equals("gaussian-nb", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException(ClientDpSgd.NotSgdMessage);
        }

        return s;
    }

    /// <summary>A client's privacy settings.</summary>
    internal sealed record Settings(bool DpSgd, double NoiseMultiplier, double MaxGradNorm, double Delta, double? MaxEpsilon, string? Ledger)
    {
        /// <summary>The DP-SGD settings and ledger of partition <paramref name="pid"/> (the ledger file is loaded when given).</summary>
        public (ClientDpSgd Dp, string? LedgerPath) ForPartition(int pid, bool several)
        {
            string? path = Ledger is null ? null : several ? $"{Ledger}.{pid.ToString(CultureInfo.InvariantCulture)}" : Ledger;
            var state = path is null ? new ClientPrivacyState(Delta) : ClientPrivacyState.LoadOrCreate(path, Delta);
            return (new ClientDpSgd(new DpSgdOptions { NoiseMultiplier = NoiseMultiplier, MaxGradNorm = MaxGradNorm }, state) { Always = DpSgd }, path);
        }

        /// <summary>
        /// The client app: secure aggregation first (it answers the stages when the server runs them, and masks what
        /// the other mods made of the update; with a kit its keys are signed and its neighbours' checked), the budget mod (with --max-epsilon), and the ledger saved after every
        /// train reply.
        /// </summary>
        public IClientApp App(LearningClient client, ClientDpSgd dp, string? ledgerPath, Core.SecureAggregation.ISecAggSigner? signer = null)
        {
            var mods = new List<ClientMod> { new Core.SecureAggregation.SecAggPlusClient(signer).Mod };
            if (MaxEpsilon is { } max)
            {
                mods.Add(PrivacyBudgetMod.Create(max, m => client.ProjectEpsilon(m.Content?.Configs.TryGetValue(RecordNames.Config, out var c) == true ? c : new ConfigRecord())));
            }

            if (ledgerPath is not null)
            {
                mods.Add(async (message, next, cancellationToken) =>
                {
                    var reply = await next(message, cancellationToken).ConfigureAwait(false);
                    if (message.Metadata.MessageType == MessageType.Train && reply.HasContent)
                    {
                        dp.State.Save(ledgerPath);
                    }

                    return reply;
                });
            }

            return client.ToClientApp([.. mods]);
        }
    }
}
