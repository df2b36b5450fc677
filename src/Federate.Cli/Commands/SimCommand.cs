using System.CommandLine;
using System.Diagnostics;
using Federate.Core;
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
        var fraction = CommonOptions.Create("--fraction", "Fraction of clients sampled for training each round, in (0, 1].", 1.0, "F");
        var fractionEvaluate = CommonOptions.Create("--fraction-evaluate", "Fraction of clients sampled for evaluation each round, in [0, 1].", 1.0, "F");
        var minFit = CommonOptions.Create("--min-fit-clients", "Minimum clients sampled for training.", 1, "N");
        var rounds = CommonOptions.Create("--rounds", "Maximum number of rounds.", 20, "N");
        var localEpochs = CommonOptions.Create("--local-epochs", "Local epochs per round.", 5, "N");
        var batchSize = CommonOptions.Create("--batch-size", "Local minibatch size.", 16, "N");
        var lr = CommonOptions.Create("--lr", "Local SGD learning rate.", 0.1, "RATE");
        var partition = CommonOptions.Create("--partition", "How rows are split among clients: iid, dirichlet:ALPHA, shards:K, column:NAME.", "dirichlet:0.5", "SPEC");
        var testFraction = CommonOptions.Create("--test-fraction", "Fraction of each client's rows kept for local evaluation.", 0.2, "F");
        var strategy = CommonOptions.Create("--strategy", $"Aggregation strategy ({string.Join(", ", StrategyCatalog.Names)}).", "fedavg", "NAME");
        var seed = CommonOptions.Create("--seed", "Seed for every random choice; the same seed gives a byte-identical model.", 0, "N");
        var threshold = CommonOptions.CreateOptional<double?>("--threshold", "Stop when the threshold metric changes by less than this between rounds.", "DELTA");
        var thresholdMetric = CommonOptions.Create("--threshold-metric", "Evaluate metric watched by --threshold and --target.", "accuracy", "NAME");
        var target = CommonOptions.CreateOptional<string>("--target", "Stop once an evaluate metric reaches a value, e.g. accuracy=0.95.", "METRIC=VALUE");
        var dropRate = CommonOptions.Create("--drop-rate", "Probability that a sampled client fails (fault injection), in [0, 1).", 0.0, "P");
        var parallelism = CommonOptions.Create("--parallelism", "Clients computing at once, one thread each.", Environment.ProcessorCount, "N");
        var outDir = CommonOptions.Create("--out", "Output folder for history.json and model.safetensors.", "out", "DIR");
        var minEvaluate = CommonOptions.Create("--min-evaluate-clients", "Minimum clients sampled for evaluation.", 1, "N");
        var attack = CommonOptions.CreateOptional<string>("--attack", "Simulate attackers: sign-flip, gaussian, label-flip or scale, with the fraction of malicious clients, e.g. sign-flip:0.2.", "KIND:FRACTION");
        var json = new Option<bool>("--json") { Description = "Print the final summary as JSON on stdout (progress goes to stderr)." };
        var strategyCli = new StrategyCliOptions();
        var privacy = new PrivacyOptions();
        var optimizer = new OptimizerCliOptions();

        var command = new Command("sim", "Simulate a federated run with virtual clients on one machine.")
        {
            dataset, dataDir, labelColumn, model, clients, fraction, fractionEvaluate, minFit, rounds, localEpochs, batchSize, lr,
            partition, testFraction, strategy, seed, threshold, thresholdMetric, target, dropRate, parallelism, outDir, json,
            minEvaluate, attack,
        };
        privacy.AddTo(command);
        strategyCli.AddTo(command);
        optimizer.AddTo(command);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new SimSettings
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
                Json = parse.GetValue(json),
                MinEvaluateClients = parse.GetValue(minEvaluate),
                Attack = parse.GetValue(attack),
                Privacy = privacy.Read(parse),
                StrategyOptions = strategyCli.Read(parse, parse.GetValue(lr)),
                Optimizer = optimizer.ApplyTo(parse, new TrainOptions()),
            };
            return await RunAsync(settings, output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> RunAsync(SimSettings s, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        s.Validate();
        var watch = Stopwatch.StartNew();
        var split = DatasetCatalog.Load(s.Dataset, s.DataDir, s.LabelColumn);
        var rows = split.Train.Count;
        if (s.Clients > rows)
        {
            throw new UsageException($"cannot split {rows} rows of '{split.Train.Name}' among {s.Clients} clients; use --clients {rows} or fewer");
        }

        var data = FederatedDataset.Create(split, s.Clients, s.Partition, s.Seed, s.TestFraction);
        Func<Model> createModel = () => ModelFactory.Create(s.Model, data.FeatureCount, data.ClassCount);
        var initialModel = createModel();
        initialModel.Initialize(s.Seed);
        var initial = initialModel.GetParameters();

        var sampling = new SamplingOptions
        {
            FractionTrain = s.Fraction,
            FractionEvaluate = s.FractionEvaluate,
            MinTrainNodes = s.MinFitClients,
            MinEvaluateNodes = s.MinEvaluateClients,
        };
        var privacy = PrivacySetup.Create(s.Privacy, StrategyCatalog.Create(s.Strategy, sampling, s.StrategyOptions), s.Fraction);
        var strategy = privacy.Strategy;
        var attack = s.Attack is null ? null : Attack.Parse(s.Attack, s.Clients, s.Seed);
        var defaults = new TrainOptions { Epochs = s.LocalEpochs, BatchSize = s.BatchSize, LearningRate = s.LearningRate, Optimizer = s.Optimizer.Optimizer, Momentum = s.Optimizer.Momentum, WeightDecay = s.Optimizer.WeightDecay };
        LearningClient Client(int pid, Dataset train, Dataset test) => new(createModel, train, test, defaults, s.Seed, pid, privacy.ClientFor(pid));
        var grid = new InMemoryGrid(
            pid =>
            {
                var (train, test) = data.GetPartition(pid);
                if (attack is not null && attack.IsAttacker(pid))
                {
                    if (attack.PoisonsLabels)
                    {
                        var flipped = train.Labels.Select(y => train.ClassCount - 1 - y).ToArray();
                        train = new Dataset(train.Name, train.Features, flipped, train.FeatureCount, train.ClassNames, train.FeatureNames, train.Columns);
                        return privacy.App(Client(pid, train, test));
                    }

                    return privacy.App(Client(pid, train, test), attack.CreateMod(s.Seed));
                }

                return privacy.App(Client(pid, train, test));
            },
            new SimulationOptions { Clients = s.Clients, Parallelism = s.Parallelism, DropRate = s.DropRate, Seed = s.Seed });

        var options = new RunOptions
        {
            RunId = $"sim-{s.Seed}-{DateTime.UtcNow:yyyyMMddHHmmss}",
            Seed = s.Seed,
            Rounds = s.Rounds,
            Threshold = s.Threshold,
            ThresholdMetric = s.ThresholdMetric,
            Target = s.Target,
            MinNodes = 1,
            MinResults = 1,
        };
        options.TrainConfig["local_epochs"] = s.LocalEpochs;
        options.TrainConfig["lr"] = s.LearningRate;
        options.TrainConfig["batch_size"] = s.BatchSize;
        s.Optimizer.AddOptimizerTo(options.TrainConfig);
        privacy.Configure(options, s.Clients, pid => { var (train, test) = data.GetPartition(pid); return Client(pid, train, test); });

        var progressWriter = s.Json ? error : output;
        var console = ConsoleFactory.Create(progressWriter);
        var progress = new RoundProgress(console, s.Rounds);
        var driver = new RunDriver(grid, strategy, options, [progress]);
        Directory.CreateDirectory(s.Out);

        if (attack is not null)
        {
            console.MarkupLine($"attack: {attack.Kind} by {attack.Attackers.Count} of {s.Clients} clients");
        }

        console.MarkupLine($"[bold]federate sim[/]: {Markup.Escape(data.Name)} ({rows} rows, {data.FeatureCount} features, {data.ClassCount} classes), model {Markup.Escape(s.Model)}, {s.Clients} clients, partition {Markup.Escape(s.Partition)}, strategy {Markup.Escape(strategy.Name)}, seed {s.Seed}");
        var result = await progress.RunAsync(ct => driver.RunAsync(initial, s.ToConfig(), ct), cancellationToken).ConfigureAwait(false);
        watch.Stop();

        var modelPath = Path.Combine(s.Out, "model.safetensors");
        var historyPath = Path.Combine(s.Out, "history.json");
        Safetensors.WriteFile(modelPath, result.Parameters, new Dictionary<string, string>
        {
            ["format"] = "federate",
            ["model"] = s.Model,
            ["dataset"] = data.Name,
            ["features"] = data.FeatureCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["classes"] = data.ClassCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        HistoryJson.WriteFile(historyPath, result.History);

        progress.WriteSummary(result.History, historyPath, modelPath, watch.Elapsed);
        if (s.Json)
        {
            await output.WriteLineAsync(SummaryJson.Create(result.History, s, watch.Elapsed, historyPath, modelPath)).ConfigureAwait(false);
        }

        return result.History.StopReason == StopReasons.Cancelled ? ExitCodes.Failure : ExitCodes.Success;
    }
}
