using System.CommandLine;
using Federate.Cli.Commands;

namespace Federate.Cli.Tests;

public class RunCliOptionsTests
{
    [Fact]
    public void Getters_NoArguments_ReturnDefaults()
    {
        var options = new RunCliOptions(defaultRounds: 7);
        var command = new Command("run");
        options.AddTo(command);

        var parse = command.Parse([]);

        Assert.Empty(parse.Errors);
        Assert.Equal(7, options.GetRounds(parse));
        Assert.Equal(1.0, options.GetFraction(parse));
        Assert.Equal(1.0, options.GetFractionEvaluate(parse));
        Assert.Equal(1, options.GetMinFitClients(parse));
        Assert.Equal(1, options.GetMinEvaluateClients(parse));
        Assert.Null(options.GetThreshold(parse));
        Assert.Equal("accuracy", options.GetThresholdMetric(parse));
        Assert.Null(options.GetTarget(parse));
        Assert.Equal("fedavg", options.GetStrategy(parse));
        Assert.Equal("out", options.GetOut(parse));
    }

    [Fact]
    public void Getters_EveryOptionGiven_ReturnTheValues()
    {
        var options = new RunCliOptions(defaultRounds: 10);
        var command = new Command("run");
        options.AddTo(command);

        var parse = command.Parse(
        [
            "--rounds", "3", "--fraction", "0.5", "--fraction-evaluate", "0.25", "--min-fit-clients", "2",
            "--min-evaluate-clients", "4", "--threshold", "0.01", "--threshold-metric", "loss", "--target", "accuracy=0.9",
            "--strategy", "fedprox", "--out", "results",
        ]);

        Assert.Empty(parse.Errors);
        Assert.Equal(3, options.GetRounds(parse));
        Assert.Equal(0.5, options.GetFraction(parse));
        Assert.Equal(0.25, options.GetFractionEvaluate(parse));
        Assert.Equal(2, options.GetMinFitClients(parse));
        Assert.Equal(4, options.GetMinEvaluateClients(parse));
        Assert.Equal(0.01, options.GetThreshold(parse));
        Assert.Equal("loss", options.GetThresholdMetric(parse));
        Assert.Equal<(string Metric, double Value)?>(("accuracy", 0.9), options.GetTarget(parse));
        Assert.Equal("fedprox", options.GetStrategy(parse));
        Assert.Equal("results", options.GetOut(parse));
    }
}
