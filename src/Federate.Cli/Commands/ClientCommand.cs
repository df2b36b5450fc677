using System.CommandLine;
using Federate.Client;
using Federate.Learning;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

/// <summary><c>federate client</c>: trains on local data for a Federate server (and/or listens for notification POSTs).</summary>
internal static class ClientCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var server = CommonOptions.CreateOptional<string>("--server", "The server as HOST:PORT.", "HOST:PORT");
        var data = CommonOptions.CreateOptional<string>("--data", "A local CSV file to train on (instead of --dataset).", "PATH");
        var datasetId = CommonOptions.Create("--dataset-id", "This client's partition of the dataset, in [0, --num-partitions).", 0, "I");
        var numPartitions = CommonOptions.Create("--num-partitions", "Number of partitions the dataset is split into.", 1, "N");
        var partition = CommonOptions.Create("--partition", "How rows are split: iid, dirichlet:ALPHA, shards:K, column:NAME (as in federate sim).", "iid", "SPEC");
        var testFraction = CommonOptions.Create("--test-fraction", "Fraction of the partition kept for local evaluation.", 0.2, "F");
        var seed = CommonOptions.Create("--seed", "Seed of partitioning and local training (use the server's).", 0, "N");
        var model = CommonOptions.Create("--model", "Model: logistic, mlp, mlp:H1[,H2...], gaussian-nb, noop:N (must match the server).", "mlp", "NAME");
        var insecure = new Option<bool>("--insecure") { Description = "Connect over plain HTTP/2 without TLS or kit (development only)." };
        var name = CommonOptions.CreateOptional<string>("--name", "Node name shown in the server's log.", "NAME");
        var compression = CommonOptions.Create("--compression", "gRPC compression: gzip or none.", "none", "gzip|none");
        var retryInterval = CommonOptions.Create("--retry-interval", "First wait in seconds between registration attempts (doubles up to --max-retry-interval).", 1.0, "SECONDS");
        var maxRetryInterval = CommonOptions.Create("--max-retry-interval", "Longest wait in seconds between registration attempts.", 10.0, "SECONDS");
        var giveUpAfter = CommonOptions.Create<double?>("--give-up-after", "Exit with an error when the server has been unreachable this many seconds (default: keep trying, so a restarted server finds its clients again).", null, "SECONDS");
        var callTimeout = CommonOptions.Create("--call-timeout", "Deadline in seconds of register, heartbeat and quit calls.", 10.0, "SECONDS");
        var chunkSize = CommonOptions.Create("--chunk-size", "Tensor chunk size in bytes for uploads.", Protocol.FleetProtocol.DefaultChunkSize, "BYTES");
        var virtualClients = CommonOptions.Create("--virtual-clients", "Run this many clients in this process, on partitions --dataset-id, --dataset-id+1, ...", 1, "N");
        var notifyListen = CommonOptions.CreateOptional<string>("--notify-listen", "Also accept notification POSTs (design 4 JSON) on HOST:PORT.", "HOST:PORT");
        var verbose = new Option<bool>("--verbose") { Description = "Log more." };
        var retainMemory = new Option<bool>("--retain-memory") { Description = "Keep the memory of earlier tasks' models in the process for the next ones instead of returning it to the system before each big task: faster rounds for large models, up to one more model-sized block at the peak." };
        var noTransferEndpoint = new Option<bool>("--no-transfer-endpoint") { Description = "Keep every tensor in the gRPC streams instead of the server's bulk transfer endpoint (e.g. when only the gRPC port is reachable; a client that cannot reach the endpoint falls back by itself)." };
        var protocol = CommonOptions.Create("--protocol", "native (a Federate server), flower (a Flower server's FlowerService/Join, or a Federate server's --flower-port) or supernode (a Flower 1.19 SuperLink's Fleet API, or a Federate server's --flower-port).", "native", "native|flower|supernode");

        var (privacy, optimizerCli, securityCli, dataSource, training, telemetry) =
            (new ClientPrivacyOptions(), new OptimizerCliOptions(), new ClientSecurityOptions(), new DatasetOptions(OptionRole.Client), new LocalTrainingOptions(OptionRole.Client), new TelemetryCliOptions(otlp: false));

        var command = new Command("client", "Join a Federate server and train on local data.")
        {
            server, data, datasetId, numPartitions, partition, testFraction, seed, model,
            insecure, name, compression, retryInterval, maxRetryInterval, giveUpAfter, callTimeout, chunkSize, virtualClients, notifyListen, verbose, protocol,
            noTransferEndpoint,
            retainMemory,
        };
        OptionGroup.AddAll(command, dataSource, training, privacy, optimizerCli, securityCli, telemetry);

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var identity = securityCli.Load(parse);
            var serverAddress = parse.GetValue(server) ?? identity?.DefaultServer;
            var listen = parse.GetValue(notifyListen);
            if (serverAddress is null && listen is null)
            {
                throw new UsageException("give --server HOST:PORT (and/or --notify-listen HOST:PORT)");
            }

            telemetry.JsonLogs(parse); // rejects a bad --log-format first
            using var loggerFactory = LoggerFactory.Create(b => telemetry.ConfigureLogging(parse, b, parse.GetValue(verbose)));
            var logger = loggerFactory.CreateLogger("Federate.Client");
            var handler = new LoggingNotificationHandler(logger);
            await using var listener = listen is null ? null : new NotificationListener(listen, handler, logger);
            listener?.Start();
            if (serverAddress is null)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C stops listening.
                }

                return ExitCodes.Success;
            }

            int virtualCount = parse.GetValue(virtualClients);
            int first = parse.GetValue(datasetId);
            int partitions = parse.GetValue(numPartitions);
            Require(partitions >= 1, $"--num-partitions must be at least 1, got {partitions}");
            Require(virtualCount >= 1, $"--virtual-clients must be at least 1, got {virtualCount}");
            Require(first >= 0 && first < partitions, $"--dataset-id {first} is out of range: --num-partitions {partitions} gives partitions 0 to {partitions - 1}");
            Require(first + virtualCount <= partitions, $"--virtual-clients {virtualCount} from --dataset-id {first} needs partitions {first} to {first + virtualCount - 1}, but --num-partitions is {partitions}; raise --num-partitions to at least {first + virtualCount}");

            var split = DatasetCatalog.Load(parse.GetValue(data) ?? dataSource.Name(parse), dataSource.DataDir(parse), dataSource.LabelColumn(parse));
            int seed_ = parse.GetValue(seed);
            var federated = FederatedDataset.Create(split, partitions, parse.GetValue(partition)!, seed_, parse.GetValue(testFraction));
            var modelName = parse.GetValue(model)!;
            ModelFactory.CheckDataset(modelName, split.Train.Name, split.Train.Segmentation);
            Func<Model> createModel = () => ModelFactory.Create(modelName, federated.FeatureCount, federated.ClassCount);
            _ = createModel(); // Reject a bad model name before connecting.
            var defaults = optimizerCli.ApplyTo(parse, new TrainOptions { Epochs = training.LocalEpochs(parse), BatchSize = training.BatchSize(parse), LearningRate = training.LearningRate(parse) });
            var privacySettings = privacy.Read(parse, modelName);
            var baseName = parse.GetValue(name) ?? Environment.MachineName;

            // Builds a partition's learner on given data, wrapped for client-side privacy when asked; the partition's
            // privacy state is made once and shared by every learner built (the demo rebuilds on new data).
            Func<Dataset, Dataset, IClientApp> Learners(int pid)
            {
                var (dp, ledgerPath) = privacySettings.ForPartition(pid, several: virtualCount > 1);
                var signer = identity is null || parse.GetValue(insecure) ? null : new KitSecAggSigner(identity.Identity);
                return (train, test) => privacySettings.App(new LearningClient(createModel, train, test, defaults, seed_, pid, dp), dp, ledgerPath, signer);
            }

            var protocol_ = parse.GetValue(protocol)!;
            Require(protocol_ is "native" or "flower" or "supernode", $"--protocol must be native, flower or supernode, got '{protocol_}'");
            if (protocol_ is "flower" or "supernode")
            {
                var apps = new List<IClientApp>();
                for (int i = 0; i < virtualCount; i++)
                {
                    int pid = first + i;
                    var (train, test) = federated.GetPartition(pid);
                    apps.Add(Learners(pid)(train, test));
                }

                return await FlowerClientRunner.RunAsync(serverAddress, apps, logger, error, cancellationToken, superNode: protocol_ == "supernode").ConfigureAwait(false);
            }

            var clients = new List<FleetClient>();
            try
            {
                for (int i = 0; i < virtualCount; i++)
                {
                    int pid = first + i;
                    var (train, test) = federated.GetPartition(pid);
                    var learners = Learners(pid);
                    INotificationHandler? clientHandler = i == 0 ? handler : null;
                    IClientApp app;
                    if (federated.Name == SyntheticSensors.Name)
                    {
                        // Design 2's demo data: new data on the server's command, a data summary in every reply.
                        var demo = new DemoClient(pid, train, test, parse.GetValue(testFraction), learners, clientHandler, logger);
                        app = demo;
                        clientHandler = demo;
                    }
                    else
                    {
                        app = learners(train, test);
                    }

                    var options = new FleetClientOptions
                    {
                        Server = serverAddress,
                        Name = virtualCount == 1 ? baseName : $"{baseName}-{pid}",
                        PartitionId = pid,
                        Insecure = parse.GetValue(insecure),
                        Identity = parse.GetValue(insecure) ? null : identity?.Identity,
                        Compression = parse.GetValue(compression)!,
                        RetryInterval = TimeSpan.FromSeconds(parse.GetValue(retryInterval)),
                        MaxRetryInterval = TimeSpan.FromSeconds(Math.Max(parse.GetValue(retryInterval), parse.GetValue(maxRetryInterval))),
                        GiveUpAfter = parse.GetValue(giveUpAfter) is { } giveUp ? TimeSpan.FromSeconds(giveUp) : null,
                        CallTimeout = TimeSpan.FromSeconds(parse.GetValue(callTimeout)),
                        ChunkSize = parse.GetValue(chunkSize),
                        UseTransferEndpoint = !parse.GetValue(noTransferEndpoint),
                        ReturnMemoryBetweenTasks = !parse.GetValue(retainMemory),
                        // Many clients in one process: their per-task lines (7 per client and round) only with --verbose.
                        TaskLogLevel = virtualCount > 1 ? LogLevel.Debug : LogLevel.Information,
                    };
                    if (options.Validate() is { } problem)
                    {
                        throw new UsageException(problem);
                    }

                    clients.Add(new FleetClient(options, app, clientHandler, logger));
                }

                var exits = await Task.WhenAll(clients.Select(c => c.RunAsync(cancellationToken))).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            catch (FleetClientException ex)
            {
                await error.WriteLineAsync($"error: {OptionNames.ToFlags(ex.Message, command)}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            finally
            {
                foreach (var c in clients)
                {
                    c.Dispose();
                }
            }
        });
        return command;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new UsageException(message);
        }
    }
}
