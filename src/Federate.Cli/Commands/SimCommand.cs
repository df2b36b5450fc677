using System.CommandLine;
using System.Diagnostics;
using Federate.Simulation;
using Spectre.Console;

namespace Federate.Cli.Commands;

/// <summary><c>federate sim</c>: a federated run with virtual clients in this process.</summary>
internal static class SimCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = CommonOptions.Create("--model", "Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, cnn, cnn-mcmahan, cnn:LAYERS, unet-small (segmentation, with --dataset shapes-seg).", "mlp", "NAME");
        var clients = CommonOptions.Create("--clients", "Number of virtual clients.", 10, "N");
        var partition = CommonOptions.Create("--partition", "How rows are split among clients: iid, dirichlet:ALPHA, shards:K, column:NAME.", "dirichlet:0.5", "SPEC");
        var testFraction = CommonOptions.Create("--test-fraction", "Fraction of each client's rows kept for local evaluation.", 0.2, "F");
        var seed = CommonOptions.Create("--seed", "Seed for every random choice; the same seed gives a byte-identical model.", 0, "N");
        var dropRate = CommonOptions.Create("--drop-rate", "Probability that a sampled client fails (fault injection), in [0, 1).", 0.0, "P");
        var parallelism = CommonOptions.Create("--parallelism", "Clients computing at once, one thread each.", Environment.ProcessorCount, "N");
        var attack = CommonOptions.CreateOptional<string>("--attack", "Simulate attackers: sign-flip, gaussian, label-flip or scale, with the fraction of malicious clients, e.g. sign-flip:0.2.", "KIND:FRACTION");
        var stateDir = CommonOptions.CreateOptional<string>("--state-dir", "State directory: checkpoints every round; the same command run again after a crash resumes the run and ends with the same model.", "DIR");
        var keepCheckpoints = CommonOptions.Create("--keep-checkpoints", "With --state-dir: keep only the newest N round checkpoints (older ones are deleted; the next checkpoint rewrites the newest deleted file in place); 0 keeps all.", 0, "N");
        var newRun = new Option<bool>("--new-run") { Description = "With --state-dir: start a new run even if the directory holds an unfinished or finished run (an unfinished one is marked abandoned)." };
        var json = new Option<bool>("--json") { Description = "Print the final summary as JSON on stdout (progress goes to stderr)." };

        var (run, strategyCli, privacy, optimizer, dataSource, training, telemetry, secagg) =
            (new RunCliOptions(defaultRounds: 20), new StrategyCliOptions(), new PrivacyOptions(), new OptimizerCliOptions(), new DatasetOptions(OptionRole.Simulation), new LocalTrainingOptions(OptionRole.Simulation), new TelemetryCliOptions(logFormat: false), new SecAggCliOptions());

        var command = new Command("sim", "Simulate a federated run with virtual clients on one machine.")
        {
            model, clients,
            partition, testFraction, seed, dropRate, parallelism, json,
            attack, stateDir, newRun, keepCheckpoints,
        };
        OptionGroup.AddAll(command, dataSource, training, run, privacy, strategyCli, optimizer, telemetry, secagg);
        var compression = new CompressionCliOptions();
        compression.AddTo(command);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new SimulationSettings
            {
                Dataset = dataSource.Name(parse),
                DataDir = dataSource.DataDir(parse),
                LabelColumn = dataSource.LabelColumn(parse),
                Model = parse.GetValue(model)!,
                Clients = parse.GetValue(clients),
                LocalEpochs = training.LocalEpochs(parse),
                BatchSize = training.BatchSize(parse),
                LearningRate = training.LearningRate(parse),
                Partition = parse.GetValue(partition)!,
                TestFraction = parse.GetValue(testFraction),
                Seed = parse.GetValue(seed),
                DropRate = parse.GetValue(dropRate),
                Parallelism = parse.GetValue(parallelism),
                StateDir = parse.GetValue(stateDir),
                NewRun = parse.GetValue(newRun),
                KeepCheckpoints = parse.GetValue(keepCheckpoints),
                Attack = parse.GetValue(attack),
                Privacy = privacy.Read(parse),
                StrategyOptions = strategyCli.Read(parse, training.LearningRate(parse)),
                Optimizer = optimizer.ApplyTo(parse, new TrainOptions()),
                SecAgg = secagg.Read(parse),
            };
            settings.UpdateCompression = compression.Read(parse, command, settings.SecAgg is not null);
            using var export = telemetry.StartExport(parse, "federate-sim");
            run.ApplyTo(parse, settings);
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
        // A segmentation model's quality is the per-pixel dice of the object class.
        var progress = new RoundProgress(console, s.Rounds, ModelFactory.IsSegmentation(s.Model) ? "dice" : "f1");
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
