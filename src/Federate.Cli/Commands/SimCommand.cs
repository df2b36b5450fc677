using System.CommandLine;
using System.Diagnostics;
using Federate.Learning;
using Federate.Simulation;
using Spectre.Console;

namespace Federate.Cli.Commands;

/// <summary><c>federate sim</c>: a federated run with virtual clients in this process.</summary>
internal static class SimCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var dataset = CommonOptions.Create("--dataset", $"Embedded dataset ({string.Join(", ", DatasetCatalog.Names)}) or a CSV file path.", "digits", "NAME|PATH");
        var dataDir = CommonOptions.CreateOptional<string>("--data-dir", "Folder holding Fashion-MNIST's IDX files (default /usr/share/datasets/fashion-mnist).", "DIR");
        var labelColumn = CommonOptions.CreateOptional<string>("--label-column", "Label column of a CSV file (default: 'label' if present, else the last column).", "NAME");
        var model = CommonOptions.Create("--model", "Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, cnn, cnn-mcmahan, cnn:LAYERS.", "mlp", "NAME");
        var clients = CommonOptions.Create("--clients", "Number of virtual clients.", 10, "N");
        var run = new RunCliOptions(defaultRounds: 20);
        var fraction = run.Fraction;
        var fractionEvaluate = run.FractionEvaluate;
        var minFit = run.MinFitClients;
        var rounds = run.Rounds;
        var localEpochs = CommonOptions.Create("--local-epochs", "Local epochs per round.", 5, "N");
        var batchSize = CommonOptions.Create("--batch-size", "Local minibatch size.", 16, "N");
        var lr = CommonOptions.Create("--lr", "Local SGD learning rate.", 0.1, "RATE");
        var partition = CommonOptions.Create("--partition", "How rows are split among clients: iid, dirichlet:ALPHA, shards:K, column:NAME.", "dirichlet:0.5", "SPEC");
        var testFraction = CommonOptions.Create("--test-fraction", "Fraction of each client's rows kept for local evaluation.", 0.2, "F");
        var strategy = run.Strategy;
        var seed = CommonOptions.Create("--seed", "Seed for every random choice; the same seed gives a byte-identical model.", 0, "N");
        var threshold = run.Threshold;
        var thresholdMetric = run.ThresholdMetric;
        var target = run.Target;
        var dropRate = CommonOptions.Create("--drop-rate", "Probability that a sampled client fails (fault injection), in [0, 1).", 0.0, "P");
        var parallelism = CommonOptions.Create("--parallelism", "Clients computing at once, one thread each.", Environment.ProcessorCount, "N");
        var outDir = run.Out;
        var minEvaluate = run.MinEvaluateClients;
        var attack = CommonOptions.CreateOptional<string>("--attack", "Simulate attackers: sign-flip, gaussian, label-flip or scale, with the fraction of malicious clients, e.g. sign-flip:0.2.", "KIND:FRACTION");
        var stateDir = CommonOptions.CreateOptional<string>("--state-dir", "State directory: checkpoints every round; the same command run again after a crash resumes the run and ends with the same model.", "DIR");
        var newRun = new Option<bool>("--new-run") { Description = "With --state-dir: start a new run even if the directory holds an unfinished or finished run (an unfinished one is marked abandoned)." };
        var json = new Option<bool>("--json") { Description = "Print the final summary as JSON on stdout (progress goes to stderr)." };
        var strategyCli = new StrategyCliOptions();
        var privacy = new PrivacyOptions();
        var optimizer = new OptimizerCliOptions();
        var secagg = new SecAggCliOptions();

        var command = new Command("sim", "Simulate a federated run with virtual clients on one machine.")
        {
            dataset, dataDir, labelColumn, model, clients, fraction, fractionEvaluate, minFit, rounds, localEpochs, batchSize, lr,
            partition, testFraction, strategy, seed, threshold, thresholdMetric, target, dropRate, parallelism, outDir, json,
            minEvaluate, attack, stateDir, newRun,
        };
        privacy.AddTo(command);
        strategyCli.AddTo(command);
        optimizer.AddTo(command);
        secagg.AddTo(command);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new SimulationSettings
            {
                Dataset = parse.GetValue(dataset)!,
                DataDir = parse.GetValue(dataDir),
                LabelColumn = parse.GetValue(labelColumn),
                Model = parse.GetValue(model)!,
                Clients = parse.GetValue(clients),
                Fraction = parse.GetValue(fraction),
                FractionEvaluate = parse.GetValue(fractionEvaluate),
                MinFitClients = parse.GetValue(minFit),
                Rounds = parse.GetValue(rounds),
                LocalEpochs = parse.GetValue(localEpochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                Partition = parse.GetValue(partition)!,
                TestFraction = parse.GetValue(testFraction),
                Strategy = parse.GetValue(strategy)!,
                Seed = parse.GetValue(seed),
                Threshold = parse.GetValue(threshold),
                ThresholdMetric = parse.GetValue(thresholdMetric)!,
                Target = CommonOptions.ParseTarget(parse.GetValue(target)),
                DropRate = parse.GetValue(dropRate),
                Parallelism = parse.GetValue(parallelism),
                Out = parse.GetValue(outDir)!,
                StateDir = parse.GetValue(stateDir),
                NewRun = parse.GetValue(newRun),
                MinEvaluateClients = parse.GetValue(minEvaluate),
                Attack = parse.GetValue(attack),
                Privacy = privacy.Read(parse),
                StrategyOptions = strategyCli.Read(parse, parse.GetValue(lr)),
                Optimizer = optimizer.ApplyTo(parse, new TrainOptions()),
                SecAgg = secagg.Read(parse),
            };
            return await RunAsync(settings, parse.GetValue(json), output, error, cancellationToken, line => OptionNames.ToFlags(line, command)).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> RunAsync(SimulationSettings s, bool json, TextWriter output, TextWriter error, CancellationToken cancellationToken, Func<string, string>? flags = null)
    {
        var watch = Stopwatch.StartNew();
        var progressWriter = json ? error : output;
        var console = ConsoleFactory.Create(progressWriter);
        using var simulation = Simulation.Simulation.Create(s, line => console.WriteLine(flags?.Invoke(line) ?? line));
        var progress = new RoundProgress(console, s.Rounds);
        simulation.Plan.Observers.Add(progress);
        var data = simulation.Data;
        if (simulation.Attack is { } attack)
        {
            console.MarkupLine($"attack: {attack.Kind} by {attack.Attackers.Count} of {s.Clients} clients");
        }

        console.MarkupLine($"[bold]federate sim[/]: {Markup.Escape(data.Name)} ({simulation.Rows} rows, {data.FeatureCount} features, {data.ClassCount} classes), model {Markup.Escape(s.Model)}, {s.Clients} clients, partition {Markup.Escape(s.Partition)}, strategy {Markup.Escape(simulation.Plan.Strategy.Name)}, seed {s.Seed}");
        var result = await progress.RunAsync(simulation.RunAsync, cancellationToken).ConfigureAwait(false);
        watch.Stop();

        var outputs = simulation.Plan.Outputs!;
        progress.WriteSummary(result.History, outputs.HistoryPath, outputs.ModelPath, watch.Elapsed);
        if (json)
        {
            await output.WriteLineAsync(SummaryJson.Create(result.History, s, watch.Elapsed, outputs.HistoryPath, outputs.ModelPath)).ConfigureAwait(false);
        }

        return result.History.StopReason == StopReasons.Cancelled ? ExitCodes.Failure : ExitCodes.Success;
    }
}
