using System.CommandLine;
using System.Globalization;
using Federate.Learning;
using Federate.Core.Privacy;
using Federate.Server;
using Federate.Server.Running;

namespace Federate.Cli.Commands;

/// <summary><c>federate server</c>: coordinates a federated run of real clients over the native fleet API.</summary>
internal static class ServerCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var port = CommonOptions.Create("--port", "TCP port to listen on (0 picks a free one and logs it).", 9092, "PORT");
        var flowerPort = CommonOptions.CreateOptional<int?>("--flower-port", "Also serve Flower clients (legacy start_client: flwr.proto.FlowerService/Join) and SuperNodes (Fleet API) on this port (0 picks a free one).", "PORT");
        var flowerApp = CommonOptions.CreateOptional<string>("--flower-app", "The Flower app SuperNodes (flower-supernode, Flower 1.19's Fleet API on --flower-port) download and run: an app folder or a .fab file.", "DIR|FILE.fab");
        var host = CommonOptions.Create("--host", "Address to bind.", "0.0.0.0", "ADDRESS");
        var minClients = CommonOptions.Create("--min-clients", "Clients to wait for before each round.", 2, "N");
        var model = CommonOptions.Create("--model", "Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, noop:N, or none (the first client gives the initial parameters; the default with --flower-port).", "mlp", "NAME");
        var seed = CommonOptions.Create("--seed", "Seed for the initial model and sampling.", 0, "N");
        var config = new Option<string[]>("--config") { Description = "KEY=VALUE added to every round's train config (repeatable).", HelpName = "KEY=VALUE" };
        var evaluateConfig = new Option<string[]>("--evaluate-config") { Description = "KEY=VALUE added to every round's evaluate config (repeatable).", HelpName = "KEY=VALUE" };
        var roundTimeout = CommonOptions.Create("--round-timeout", "Seconds each round phase waits for replies (0 = no limit).", 600.0, "SECONDS");
        var webhook = new Option<string[]>("--webhook") { Description = "URL that receives every lifecycle notification as a JSON POST (repeatable).", HelpName = "URL" };
        var insecure = new Option<bool>("--insecure") { Description = "Serve plain HTTP/2 without TLS or kits (development only; the server warns)." };
        var minResults = CommonOptions.Create("--min-results", "A round needs at least this many usable train replies.", 1, "N");
        var compression = CommonOptions.Create("--compression", "gRPC compression of messages and chunks: gzip or none.", "none", "gzip|none");
        var heartbeat = CommonOptions.Create("--heartbeat-interval", "Seconds between client heartbeats.", 2.0, "SECONDS");
        var expiry = CommonOptions.CreateOptional<double?>("--node-expiry", "Seconds of silence after which a client is dropped (default 3 heartbeat intervals).", "SECONDS");
        var chunkSize = CommonOptions.Create("--chunk-size", "Tensor chunk size in bytes.", Protocol.FleetProtocol.DefaultChunkSize, "BYTES");
        var maxSpooled = CommonOptions.Create("--max-spool-mb", "Disk budget (MiB) for train updates received but not yet folded; further uploads wait.", 8192L, "MIB");
        var maxUploads = CommonOptions.Create("--max-concurrent-uploads", "Train updates read at once (bounds the receive buffers whatever the number of clients); further uploads wait.", 4, "N");
        var newRun = new Option<bool>("--new-run") { Description = "Start a new run even if --state-dir holds an unfinished or finished run (an unfinished one is marked abandoned)." };
        var verbose = new Option<bool>("--verbose") { Description = "Log every task and reply." };
        var transferPort = CommonOptions.Create("--transfer-port", "Port of the bulk transfer endpoint (HTTP/1.1 beside gRPC, TLS with a kit) that moves tensors several times faster than the gRPC streams; 0 = any free port, -1 = off (tensors in the gRPC streams).", 0, "PORT");
        var keepCheckpoints = CommonOptions.Create("--keep-checkpoints", "Keep only the newest N round checkpoints of a run in --state-dir (older ones are deleted; the next checkpoint rewrites the newest deleted file in place); 0 keeps all.", 0, "N");
        var stateDir = CommonOptions.Create("--state-dir", "State directory (SQLite database and per-round checkpoints); a restart with the same settings resumes the unfinished run.", "./federate-state", "DIR");

        var (run, inspector, strategyCli, optimizerCli, securityCli, privacy, dataSource, training, telemetry, secagg) =
            (new RunCliOptions(defaultRounds: 10), new InspectorCliOptions(), new StrategyCliOptions(), new OptimizerCliOptions(), new ServerSecurityOptions(), new PrivacyOptions(), new DatasetOptions(OptionRole.Server), new LocalTrainingOptions(OptionRole.Server), new TelemetryCliOptions(), new SecAggCliOptions());

        var command = new Command("server", "Coordinate a federated run: clients connect over gRPC (native fleet API).")
        {
            port, host, minClients, model, seed, config, evaluateConfig,
            roundTimeout, webhook, insecure, minResults,
            compression, heartbeat, expiry, chunkSize, maxSpooled, maxUploads, verbose, stateDir, flowerPort, flowerApp, newRun,
            transferPort, keepCheckpoints,
        };
        OptionGroup.AddAll(command, dataSource, training, run, inspector, strategyCli, optimizerCli, securityCli, privacy, telemetry, secagg);
        var updateCompression = new CompressionCliOptions();
        updateCompression.AddTo(command);

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
                MaxConcurrentUploads = parse.GetValue(maxUploads),
                FlowerPort = parse.GetValue(flowerPort),
                OtlpEndpoint = telemetry.OtlpEndpoint(parse),
                FlowerApp = parse.GetValue(flowerApp),
                TransferPort = parse.GetValue(transferPort),
            };
            // Flower nodes get local_epochs, lr and batch_size only when the operator set them, as from a Flower server.
            foreach (var key in training.UnsetConfigKeys(parse))
            {
                serverOptions.FlowerOmittedConfigKeys.Add(key);
            }

            // Flower nodes send float32 updates (the Flower protocol has no update compression): no codec for them.
            serverOptions.FlowerOmittedConfigKeys.Add(Core.Compression.UpdateCompression.ConfigKey);

            foreach (var url in parse.GetValue(webhook) ?? [])
            {
                serverOptions.Webhooks.Add(url);
            }

            inspector.Configure(parse, serverOptions);
            securityCli.Configure(parse, serverOptions);
            var secaggSettings = secagg.Read(parse);
            if (secaggSettings is not null && serverOptions.Inspector is { } inspectorOptions)
            {
                inspectorOptions.SecureAggregation = true;
            }
            if ((serverOptions.Validate() ?? serverOptions.Inspector?.Validate()) is { } problem)
            {
                throw new UsageException(problem);
            }

            var rounds_ = inspector.Rounds(parse, run.Rounds);
            var minClients_ = parse.GetValue(minClients);
            Require(minClients_ >= 1, $"--min-clients must be at least 1, got {minClients_}");
            Require(rounds_ >= 1, $"--rounds must be at least 1, got {rounds_}");
            Require(parse.GetValue(keepCheckpoints) >= 0, $"--keep-checkpoints must be 0 (keep all) or more, got {parse.GetValue(keepCheckpoints)}");
            var timeoutSeconds = parse.GetValue(roundTimeout);
            Require(timeoutSeconds >= 0, $"--round-timeout must be non-negative, got {timeoutSeconds}");

            var modelName = parse.GetValue(model)!;
            var datasetName = inspector.Dataset(parse, dataSource.Dataset);
            var (features, classes) = DeployOptions.DatasetShape(datasetName, dataSource.DataDir(parse), dataSource.LabelColumn(parse));
            var seed_ = parse.GetValue(seed);
            // With Flower nodes and no --model, one node gives the initial parameters, as Flower's strategies do.
            if (serverOptions.FlowerPort is not null && parse.GetResult(model) is null or { Implicit: true })
            {
                modelName = "none";
            }

            bool modelFromClient = string.Equals(modelName, "none", StringComparison.OrdinalIgnoreCase);
            if (!modelName.StartsWith("noop:", StringComparison.OrdinalIgnoreCase) && !modelFromClient)
            {
                _ = ModelFactory.Create(modelName, features, classes); // rejects a bad name before listening
                DeployOptions.CheckModelFitsDataset(modelName, datasetName, dataSource.DataDir(parse), dataSource.LabelColumn(parse));
            }

            var sampling = new SamplingOptions
            {
                FractionTrain = run.GetFraction(parse),
                FractionEvaluate = run.GetFractionEvaluate(parse),
                MinTrainNodes = run.GetMinFitClients(parse),
                MinEvaluateNodes = run.GetMinEvaluateClients(parse),
            };
            var strategyOptions = strategyCli.Read(parse, training.LearningRate(parse));
            var privacySettings = privacy.Read(parse);
            if (privacySettings.MaxEpsilon is not null)
            {
                throw new UsageException("--max-epsilon is a client option: each site sets its own budget with 'federate client --max-epsilon E'");
            }

            var strategyName = run.GetStrategy(parse);
            privacySettings.Validate(strategyName, sampling.FractionTrain);
            if (secaggSettings is not null && (secaggSettings.Validate() ?? Core.SecureAggregation.SecAggPlusCompatibility.Check(strategyName, privacySettings)) is { } secaggProblem)
            {
                throw new UsageException(OptionNames.ToFlags(secaggProblem, command));
            }
            if (privacySettings.DpSgd && modelName.Trim().Equals("gaussian-nb", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException(ClientDpSgd.NotSgdMessage);
            }

            var updateCodec = updateCompression.Read(parse, command, secaggSettings is not null);
            var outPath = run.GetOut(parse);
            bool verbose_ = parse.GetValue(verbose);
            var modelMetadata = new Dictionary<string, string>
            {
                ["format"] = "federate",
                ["model"] = modelName,
                ["dataset"] = datasetName,
                ["features"] = features.ToString(CultureInfo.InvariantCulture),
                ["classes"] = classes.ToString(CultureInfo.InvariantCulture),
            };

            // One plan per run: the first, and a fresh one (new strategy state and run id) after every reset.
            RunPlan CreatePlan()
            {
                var privacySetup = new RunPrivacy(privacySettings, StrategyCatalog.Create(strategyName, sampling, strategyOptions), sampling.FractionTrain);
                var runOptions = new RunOptions
                {
                    Seed = seed_,
                    Rounds = rounds_,
                    Threshold = run.GetThreshold(parse),
                    ThresholdMetric = run.GetThresholdMetric(parse),
                    Target = run.GetTarget(parse),
                    MinNodes = minClients_,
                    MinResults = parse.GetValue(minResults),
                    RoundTimeout = DeployOptions.Seconds(timeoutSeconds, zeroIsInfinite: true),
                };
                runOptions.TrainConfig["local_epochs"] = training.LocalEpochs(parse);
                runOptions.TrainConfig["lr"] = training.LearningRate(parse);
                runOptions.TrainConfig["batch_size"] = training.BatchSize(parse);
                optimizerCli.ApplyTo(parse, new TrainOptions()).AddOptimizerTo(runOptions.TrainConfig);
                foreach (var (key, value) in DeployOptions.ParseConfig(parse.GetValue(config)))
                {
                    runOptions.TrainConfig[key] = value;
                }

                foreach (var (key, value) in DeployOptions.ParseConfig(parse.GetValue(evaluateConfig)))
                {
                    runOptions.EvaluateConfig[key] = value;
                }

                privacySetup.Configure(runOptions);
                Core.Compression.UpdateCompression.Configure(runOptions, updateCodec);
                if (secaggSettings is not null)
                {
                    Core.SecureAggregation.SecAggPlusWorkflow.Apply(runOptions, secaggSettings);
                }
                var historyConfig = new Dictionary<string, object?>
                {
                    ["mode"] = "deployment",
                    ["dataset"] = datasetName,
                    ["model"] = modelName,
                    ["min_clients"] = minClients_,
                    ["fraction"] = sampling.FractionTrain,
                    ["fraction_evaluate"] = sampling.FractionEvaluate,
                    ["rounds"] = rounds_,
                    ["local_epochs"] = training.LocalEpochs(parse),
                    ["batch_size"] = training.BatchSize(parse),
                    ["lr"] = training.LearningRate(parse),
                    ["strategy"] = privacySetup.Strategy.Name,
                    ["seed"] = seed_,
                    ["threshold"] = runOptions.Threshold,
                    ["round_timeout"] = timeoutSeconds,
                    ["accept_failures"] = strategyOptions.AcceptFailures,
                };
                foreach (var (key, value) in runOptions.TrainConfig.Where(kv => kv.Key is "optimizer" or "momentum" or "weight_decay"))
                {
                    historyConfig[key] = key == "optimizer" ? value.AsString() : value.AsDouble();
                }

                privacySettings.AddTo(historyConfig, sampling.FractionTrain);
                secaggSettings?.AddTo(historyConfig);
                if (runOptions.TrainConfig.TryGetValue(Core.Compression.UpdateCompression.ConfigKey, out var codecName))
                {
                    historyConfig[Core.Compression.UpdateCompression.ConfigKey] = codecName.AsString();
                }

                return new RunPlan
                {
                    Strategy = privacySetup.Strategy,
                    Options = runOptions,
                    Initial = modelFromClient
                        ? InitialParameters.FromClient(() => runOptions.RunId, runOptions.RoundTimeout, line => output.WriteLine(line))
                        : RunPlan.Fixed(() => CreateInitialModel(modelName, features, classes, seed_)),
                    Config = historyConfig,
                    Outputs = new RunOutputs { Directory = outPath, ModelMetadata = modelMetadata },
                };
            }

            var runHost = new FleetRunHost(serverOptions, CreatePlan, line => output.WriteLine(OptionNames.ToFlags(line, command))) { StateDirectory = parse.GetValue(stateDir)!, NewRun = parse.GetValue(newRun), KeepCheckpoints = parse.GetValue(keepCheckpoints) };
            telemetry.JsonLogs(parse); // rejects a bad --log-format before listening
            var result = await runHost.RunAsync(logging => telemetry.ConfigureLogging(parse, logging, verbose_), cancellationToken).ConfigureAwait(false);
            return result.History.StopReason == StopReasons.Cancelled ? ExitCodes.Failure : ExitCodes.Success;
        });
        return command;
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
