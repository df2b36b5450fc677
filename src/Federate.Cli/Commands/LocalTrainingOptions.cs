using System.CommandLine;

namespace Federate.Cli.Commands;

/// <summary><c>--local-epochs</c>, <c>--batch-size</c> and <c>--lr</c>: local training, shared by sim, server and client.</summary>
internal sealed class LocalTrainingOptions(OptionRole role) : OptionGroup
{
    private readonly Option<int> _localEpochs = CommonOptions.Create("--local-epochs", Describe("Local epochs per round", "local_epochs", role), 5, "N");
    private readonly Option<int> _batchSize = CommonOptions.Create("--batch-size", Describe("Local minibatch size", "batch_size", role), 16, "N");
    private readonly Option<double> _lr = CommonOptions.Create("--lr", Describe("Local SGD learning rate", "lr", role), 0.1, "RATE");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_localEpochs, _batchSize, _lr];

    /// <summary><c>--local-epochs</c>.</summary>
    public int LocalEpochs(ParseResult parse) => parse.GetValue(_localEpochs);

    /// <summary><c>--batch-size</c>.</summary>
    public int BatchSize(ParseResult parse) => parse.GetValue(_batchSize);

    /// <summary><c>--lr</c>.</summary>
    public double LearningRate(ParseResult parse) => parse.GetValue(_lr);

    private static string Describe(string what, string configKey, OptionRole role) => role switch
    {
        OptionRole.Server => $"{what} (sent as {configKey}).",
        OptionRole.Client => $"{what} when the server does not say.",
        _ => $"{what}.",
    };
}
