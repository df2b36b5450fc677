using System.CommandLine;
using Federate.Learning;

namespace Federate.Cli.Commands;

/// <summary>The local optimizer options shared by <c>federate sim</c>, <c>server</c> and <c>client</c>.</summary>
internal sealed class OptimizerCliOptions : OptionGroup
{
    private readonly Option<string> _optimizer = CommonOptions.Create("--optimizer", "Local optimizer: sgd or adam (sent as optimizer).", "sgd", "sgd|adam");
    private readonly Option<double> _momentum = CommonOptions.Create("--momentum", "Local SGD momentum in [0, 1) (sent as momentum).", 0.0, "M");
    private readonly Option<double> _weightDecay = CommonOptions.Create("--weight-decay", "Local L2 weight decay (sent as weight_decay).", 0.0, "WD");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_optimizer, _momentum, _weightDecay];

    /// <summary>Reads the options into <paramref name="options"/>; throws <see cref="UsageException"/> for bad values.</summary>
    public TrainOptions ApplyTo(ParseResult parse, TrainOptions options)
    {
        try
        {
            options.Optimizer = LearningClient.ParseOptimizer(parse.GetValue(_optimizer), LocalOptimizer.Sgd);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        options.Momentum = parse.GetValue(_momentum);
        options.WeightDecay = parse.GetValue(_weightDecay);
        if (TrainOptions.ValidateOptimizer(options) is { } problem)
        {
            throw new UsageException(problem);
        }

        return options;
    }
}
