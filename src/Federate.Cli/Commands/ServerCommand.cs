using System.CommandLine;
using System.Globalization;
using Federate.Core;
using Federate.Learning;
using Federate.Server;
using Federate.Server.State;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

/// <summary><c>federate server</c>: coordinates a federated run of real clients over the native fleet API.</summary>
internal static class ServerCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var port = CommonOptions.Create("--port", "TCP port to listen on (0 picks a free one and logs it).", 9092, "PORT");
        var flowerPort = CommonOptions.CreateOptional<int?>("--flower-port", "Also serve Flower clients (flwr.proto.FlowerService/Join, plain HTTP/2) on this port (0 picks a free one).", "PORT");
        var host = CommonOptions.Create("--host", "Address to bind.", "0.0.0.0", "ADDRESS");
        var minClients = CommonOptions.Create("--min-clients", "Clients to wait for before each round.", 2, "N");
        var rounds = CommonOptions.Create("--rounds", "Maximum number of rounds.", 10, "N");
        var threshold = CommonOptions.CreateOptional<double?>("--threshold", "Stop when the threshold metric changes by less than this between rounds.", "DELTA");
        var thresholdMetric = CommonOptions.Create("--threshold-metric", "Evaluate metric watched by --threshold and --target.", "accuracy", "NAME");
        var target = CommonOptions.CreateOptional<string>("--target", "Stop once an evaluate metric reaches a value, e.g. accuracy=0.95.", "METRIC=VALUE");
        var strategy = CommonOptions.Create("--strategy", $"Aggregation strategy ({string.Join(", ", StrategyCatalog.Names)}).", "fedavg", "NAME");
        var model = CommonOptions.Create("--model", "Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, noop:N, or none (the first client gives the initial parameters).", "mlp", "NAME");
        var dataset = CommonOptions.Create("--dataset", "Dataset whose input and output sizes shape the model (the server reads no training data).", "digits", "NAME|PATH");
        var dataDir = CommonOptions.CreateOptional<string>("--data-dir", "Folder holding Fashion-MNIST's IDX files.", "DIR");
        var labelColumn = CommonOptions.CreateOptional<string>("--label-column", "Label column of a CSV file.", "NAME");
        var seed = CommonOptions.Create("--seed", "Seed for the initial model and sampling.", 0, "N");
        var config = new Option<string[]>("--config") { Description = "KEY=VALUE added to every round's train config (repeatable).", HelpName = "KEY=VALUE" };
        var roundTimeout = CommonOptions.Create("--round-timeout", "Seconds each round phase waits for replies (0 = no limit).", 600.0, "SECONDS");
        var webhook = new Option<string[]>("--webhook") { Description = "URL that receives every lifecycle notification as a JSON POST (repeatable).", HelpName = "URL" };
        var outDir = CommonOptions.Create("--out", "Output folder for history.json and model.safetensors.", "out", "DIR");
        var insecure = new Option<bool>("--insecure") { Description = "Serve plain HTTP/2 without TLS or kits (development only; the server warns)." };
        var fraction = CommonOptions.Create("--fraction", "Fraction of clients sampled for training each round, in (0, 1].", 1.0, "F");
        var fractionEvaluate = CommonOptions.Create("--fraction-evaluate", "Fraction of clients sampled for evaluation each round, in [0, 1].", 1.0, "F");
        var minFit = CommonOptions.Create("--min-fit-clients", "Minimum clients sampled for training.", 1, "N");
        var minEvaluate = CommonOptions.Create("--min-evaluate-clients", "Minimum clients sampled for evaluation.", 1, "N");
        var minResults = CommonOptions.Create("--min-results", "A round needs at least this many usable train replies.", 1, "N");
        var localEpochs = CommonOptions.Create("--local-epochs", "Local epochs per round (sent as local_epochs).", 5, "N");
        var batchSize = CommonOptions.Create("--batch-size", "Local minibatch size (sent as batch_size).", 16, "N");
        var lr = CommonOptions.Create("--lr", "Local SGD learning rate (sent as lr).", 0.1, "RATE");
        var compression = CommonOptions.Create("--compression", "gRPC compression of messages and chunks: gzip or none.", "none", "gzip|none");
        var heartbeat = CommonOptions.Create("--heartbeat-interval", "Seconds between client heartbeats.", 2.0, "SECONDS");
        var expiry = CommonOptions.CreateOptional<double?>("--node-expiry", "Seconds of silence after which a client is dropped (default 3 heartbeat intervals).", "SECONDS");
        var chunkSize = CommonOptions.Create("--chunk-size", "Tensor chunk size in bytes.", Protocol.FleetProtocol.DefaultChunkSize, "BYTES");
        var maxSpooled = CommonOptions.Create("--max-spool-mb", "Disk budget (MiB) for train updates received but not yet folded; further uploads wait.", 8192L, "MIB");
        var verbose = new Option<bool>("--verbose") { Description = "Log every task and reply." };
        var stateDir = CommonOptions.Create("--state-dir", "State directory (SQLite database and per-round checkpoints); a restart with the same settings resumes the unfinished run.", "./federate-state", "DIR");

        var command = new Command("server", "Coordinate a federated run: clients connect over gRPC (native fleet API).")
        {
            port, host, minClients, rounds, threshold, thresholdMetric, target, strategy, model, dataset, dataDir, labelColumn, seed, config,
            roundTimeout, webhook, outDir, insecure, fraction, fractionEvaluate, minFit, minEvaluate, minResults, localEpochs, batchSize, lr,
            compression, heartbeat, expiry, chunkSize, maxSpooled, verbose, stateDir, flowerPort,
        };

        var inspector = new InspectorCliOptions();
        inspector.AddTo(command);
        var strategyCli = new StrategyCliOptions();
        strategyCli.AddTo(command);
        var optimizerCli = new OptimizerCliOptions();
        optimizerCli.AddTo(command);
        var securityCli = new ServerSecurityOptions();
        securityCli.AddTo(command);
        var privacy = new PrivacyOptions();
        privacy.AddTo(command);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var serverOptions = new FleetServerOptions
            {
                Port = parse.GetValue(port),
                Host = parse.GetValue(host)!,
                Insecure = parse.GetValue(insecure),
                Compression = parse.GetValue(compression)!,
                HeartbeatInterval = TimeSpan.FromSeconds(parse.GetValue(heartbeat)),
                NodeExpiry = parse.GetValue(expiry) is { } e ? TimeSpan.FromSeconds(e) : null,
                ChunkSize = parse.GetValue(chunkSize),
                MaxSpoolBytes = parse.GetValue(maxSpooled) << 20,
                FlowerPort = parse.GetValue(flowerPort),
            };
            foreach (var url in parse.GetValue(webhook) ?? [])
            {
                serverOptions.Webhooks.Add(url);
            }

            inspector.Configure(parse, serverOptions);
            securityCli.Configure(parse, serverOptions);
            if ((serverOptions.Validate() ?? serverOptions.Inspector?.Validate()) is { } problem)
            {
                throw new UsageException(problem);
            }

            var rounds_ = inspector.Rounds(parse, rounds);
            var minClients_ = parse.GetValue(minClients);
            Require(minClients_ >= 1, $"--min-clients must be at least 1, got {minClients_}");
            Require(rounds_ >= 1, $"--rounds must be at least 1, got {rounds_}");
            var timeoutSeconds = parse.GetValue(roundTimeout);
            Require(timeoutSeconds >= 0, $"--round-timeout must be non-negative, got {timeoutSeconds}");

            var modelName = parse.GetValue(model)!;
            var datasetName = inspector.Dataset(parse, dataset);
            var (features, classes) = DeployOptions.DatasetShape(datasetName, parse.GetValue(dataDir), parse.GetValue(labelColumn));
            var seed_ = parse.GetValue(seed);
            bool modelFromClient = string.Equals(modelName, "none", StringComparison.OrdinalIgnoreCase);
            if (!modelName.StartsWith("noop:", StringComparison.OrdinalIgnoreCase) && !modelFromClient)
            {
                _ = ModelFactory.Create(modelName, features, classes); // rejects a bad name before listening
            }

            var sampling = new SamplingOptions
            {
                FractionTrain = parse.GetValue(fraction),
                FractionEvaluate = parse.GetValue(fractionEvaluate),
                MinTrainNodes = parse.GetValue(minFit),
                MinEvaluateNodes = parse.GetValue(minEvaluate),
            };
            var strategyOptions = strategyCli.Read(parse, parse.GetValue(lr));
            var privacySettings = privacy.Read(parse);
            if (privacySettings.MaxEpsilon is not null)
            {
                throw new UsageException("--max-epsilon is a client option: each site sets its own budget with 'federate client --max-epsilon E'");
            }

            privacySettings.Validate(modelName, parse.GetValue(strategy)!, sampling.FractionTrain);
            var privacySetup = PrivacySetup.Create(privacySettings, StrategyCatalog.Create(parse.GetValue(strategy)!, sampling, strategyOptions), sampling.FractionTrain);
            var strategy_ = privacySetup.Strategy;

            var runOptions = new RunOptions
            {
                RunId = serverOptions.RunId,
                Seed = seed_,
                Rounds = rounds_,
                Threshold = parse.GetValue(threshold),
                ThresholdMetric = parse.GetValue(thresholdMetric)!,
                Target = CommonOptions.ParseTarget(parse.GetValue(target)),
                MinNodes = minClients_,
                MinResults = parse.GetValue(minResults),
                RoundTimeout = DeployOptions.Seconds(timeoutSeconds, zeroIsInfinite: true),
            };
            runOptions.TrainConfig["local_epochs"] = parse.GetValue(localEpochs);
            runOptions.TrainConfig["lr"] = parse.GetValue(lr);
            runOptions.TrainConfig["batch_size"] = parse.GetValue(batchSize);
            var localOptimizer = optimizerCli.ApplyTo(parse, new TrainOptions());
            localOptimizer.AddOptimizerTo(runOptions.TrainConfig);
            foreach (var (key, value) in DeployOptions.ParseConfig(parse.GetValue(config)))
            {
                runOptions.TrainConfig[key] = value;
            }

            privacySetup.ConfigureServer(runOptions);

            var historyConfig = new Dictionary<string, object?>
            {
                ["mode"] = "deployment",
                ["dataset"] = datasetName,
                ["model"] = modelName,
                ["min_clients"] = minClients_,
                ["fraction"] = sampling.FractionTrain,
                ["fraction_evaluate"] = sampling.FractionEvaluate,
                ["rounds"] = rounds_,
                ["local_epochs"] = parse.GetValue(localEpochs),
                ["batch_size"] = parse.GetValue(batchSize),
                ["lr"] = parse.GetValue(lr),
                ["strategy"] = strategy_.Name,
                ["seed"] = seed_,
                ["threshold"] = runOptions.Threshold,
                ["round_timeout"] = timeoutSeconds,
                ["accept_failures"] = strategyOptions.AcceptFailures,
            };
            privacySettings.AddTo(historyConfig, sampling.FractionTrain);
            foreach (var (key, value) in runOptions.TrainConfig.Where(kv => kv.Key is "optimizer" or "momentum" or "weight_decay"))
            {
                historyConfig[key] = key == "optimizer" ? value.AsString() : value.AsDouble();
            }

            var outPath = parse.GetValue(outDir)!;
            Directory.CreateDirectory(outPath);
            bool verbose_ = parse.GetValue(verbose);

            // Durability: resume the unfinished run of the state directory when it was started with the same settings.
            using var store = StateStore.Open(parse.GetValue(stateDir)!);
            var fingerprint = Fingerprint(historyConfig, runOptions);
            var unfinished = store.FindUnfinished();
            if (unfinished is not null && unfinished.Fingerprint != fingerprint)
            {
                store.Abandon(unfinished.Id, "a server started with different settings; this run will not be resumed");
                await output.WriteLineAsync($"state: run {unfinished.Id} was unfinished but the settings differ; starting a new run").ConfigureAwait(false);
                unfinished = null;
            }

            Checkpoint? checkpoint = null;
            if (unfinished is not null)
            {
                int generation = store.BeginGeneration(unfinished.Id);
                serverOptions.RunId = unfinished.Id;
                serverOptions.FirstNodeId = ((generation - 1) * NodeIdsPerGeneration) + 1;
                checkpoint = store.LoadLatestCheckpoint(unfinished.Id, warning => output.WriteLine($"state: warning: {warning}"));
                int done = checkpoint?.Round ?? 0;
                store.AppendEvent(unfinished.Id, "run_resumed", $"server process {generation} resumes after round {done}");
                await output.WriteLineAsync($"state: resuming run {unfinished.Id} after round {done} from {store.Directory}").ConfigureAwait(false);
                if (checkpoint is not null)
                {
                    runOptions.Resume = new RunResume(checkpoint.Rounds);
                }
            }
            else
            {
                store.CreateRun(serverOptions.RunId, fingerprint, historyConfig);
            }

            runOptions.RunId = serverOptions.RunId;
            var checkpointMetadata = new Dictionary<string, string> { ["format"] = "federate", ["model"] = modelName, ["dataset"] = datasetName };
            var modelMetadata = new Dictionary<string, string>
            {
                ["format"] = "federate",
                ["model"] = modelName,
                ["dataset"] = datasetName,
                ["features"] = features.ToString(CultureInfo.InvariantCulture),
                ["classes"] = classes.ToString(CultureInfo.InvariantCulture),
            };
            if (serverOptions.Inspector is { } inspectorOptions)
            {
                inspectorOptions.StateStore = store;
                foreach (var (key, value) in modelMetadata)
                {
                    inspectorOptions.ModelMetadata[key] = value;
                }
            }

            await using var server = await FleetServer.StartAsync(serverOptions, logging => DeployOptions.ConfigureLogging(logging, verbose_), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (server.InspectorUrl is { } dashboard)
            {
                await output.WriteLineAsync($"inspector: {dashboard}").ConfigureAwait(false);
            }

            runOptions.BeforeRoundAsync = server.Control.BeforeRoundAsync;
            RunResult result;
            while (true)
            {
                server.Control.BeginRun();
                var wrapped = server.Wrap(strategy_);
                StrategyState.Import(wrapped, checkpoint?.StrategyState);
                var durable = new StateRunObserver(store, runOptions.RunId, wrapped, checkpointMetadata, () => cancellationToken.IsCancellationRequested);
                var driver = new RunDriver(server.Grid, wrapped, runOptions, [durable, server.Observer]);

                // With --model none the initial parameters come from one client (get_parameters), as Flower's server does.
                ArrayRecord? fromClient = null;
                if (modelFromClient && checkpoint is null)
                {
                    fromClient = await FlowerInitial.AskAsync(server.Grid, runOptions, output, error, cancellationToken).ConfigureAwait(false);
                    if (fromClient is null)
                    {
                        return ExitCodes.Failure;
                    }
                }

                // The initial model is created inline, not kept in a local of this async method, so it can be collected
                // after round 1 (for a 1.2 GB model that is the difference between two and three copies in memory).
                result = await driver.RunAsync(
                    checkpoint?.Parameters ?? fromClient ?? CreateInitialModel(modelName, features, classes, seed_),
                    historyConfig,
                    cancellationToken).ConfigureAwait(false);
                fromClient = null;
                checkpoint = null;
                server.Control.EndRun();

                var modelPath = Path.Combine(outPath, "model.safetensors");
                var historyPath = Path.Combine(outPath, "history.json");
                Safetensors.WriteFile(modelPath, result.Parameters, modelMetadata);
                HistoryJson.WriteFile(historyPath, result.History);
                await output.WriteLineAsync($"wrote {historyPath} and {modelPath}").ConfigureAwait(false);

                // Manual mode keeps serving the inspector after a run ends: a reset there starts a new run.
                bool reset = server.Control.ResetRequested;
                if (!reset && server.Control.Manual && result.History.StopReason != StopReasons.Cancelled)
                {
                    await output.WriteLineAsync("run ended; the inspector stays up: reset there to start a new run, Ctrl+C to quit").ConfigureAwait(false);
                    try
                    {
                        await server.Control.WaitForResetAsync(cancellationToken).ConfigureAwait(false);
                        reset = true;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        // Ctrl+C: the server ends.
                    }
                }

                if (!reset || cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                // Reset: a new run with a fresh model, strategy state and history, on the same connected clients.
                privacySetup = PrivacySetup.Create(privacySettings, StrategyCatalog.Create(parse.GetValue(strategy)!, sampling, strategyOptions), sampling.FractionTrain);
                privacySetup.ConfigureServer(runOptions);
                strategy_ = privacySetup.Strategy;
                runOptions.RunId = Guid.NewGuid().ToString();
                runOptions.Resume = null;
                store.CreateRun(runOptions.RunId, fingerprint, historyConfig);
                await output.WriteLineAsync($"reset: starting run {runOptions.RunId}").ConfigureAwait(false);
            }

            await server.FinishAsync(result.History, CancellationToken.None).ConfigureAwait(false);
            return result.History.StopReason == StopReasons.Cancelled ? ExitCodes.Failure : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Node ids handed out by each server process of a run (a resumed process starts above them).</summary>
    private const long NodeIdsPerGeneration = 1_000_000;

    /// <summary>The settings that must match for a restart to resume a run.</summary>
    private static string Fingerprint(IReadOnlyDictionary<string, object?> config, RunOptions run)
    {
        var text = HistoryJson.Serialize(new RunHistory { RunId = "", Config = config })
            + string.Join(';', run.TrainConfig.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))
            + string.Create(CultureInfo.InvariantCulture, $";{run.MinNodes};{run.MinResults};{run.Target}");
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    private static ArrayRecord CreateInitialModel(string name, int features, int classes, int seed)
    {
        var model = ModelFactory.Create(name, features, classes);
        model.Initialize(seed);
        return model.GetParameters();
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new UsageException(message);
        }
    }
}
