namespace Federate.Core.Client;

/// <summary>
/// The classic typed client API (Flower's NumPyClient shape): get parameters, fit, evaluate. Turn it into a client
/// app with <see cref="ToClientApp"/>.
/// </summary>
public abstract class FederatedClient
{
    /// <summary>The current local model.</summary>
    public abstract ArrayRecord GetParameters(ConfigRecord config);

    /// <summary>Trains on local data starting from <paramref name="parameters"/>.</summary>
    public abstract FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken);

    /// <summary>Evaluates <paramref name="parameters"/> on local test data.</summary>
    public abstract EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken);

    /// <summary>The error code of a reply when the server's model does not fit this client's model.</summary>
    public const string ModelMismatchCode = "model_mismatch";

    /// <summary>The error code of a train reply whose training diverged (NaN or infinite loss or parameters).</summary>
    public const string DivergedCode = "diverged";

    /// <summary>
    /// Describes how the received global model differs from this client's model (names, dtypes, shapes), in words a
    /// person can act on, or null when it fits. The default accepts any model.
    /// </summary>
    protected virtual string? DescribeModelMismatch(ArrayRecord global) => null;

    /// <summary>Properties of the client (query instructions).</summary>
    public virtual ConfigRecord GetProperties(ConfigRecord config) => new();

    /// <summary>Adapts this client to the message-based <see cref="IClientApp"/>.</summary>
    public IClientApp ToClientApp(params ClientMod[] mods) => new ModularClientApp(HandleAsync, mods);

    private ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
    {
        var content = message.Content ?? throw new InvalidOperationException("instruction has no content");
        var config = content.Configs.TryGetValue(RecordNames.Config, out var c) ? c : new ConfigRecord();
        var reply = new RecordDict();
        switch (message.Metadata.MessageType)
        {
            case MessageType.Train:
            {
                var global = RequireModel(content);
                if (DescribeModelMismatch(global) is { } mismatch)
                {
                    return ValueTask.FromResult(message.CreateErrorReply(new MessageError(ModelMismatchCode, mismatch)));
                }

                var fit = Fit(global, config, cancellationToken);
                if (DescribeDivergence(fit) is { } diverged)
                {
                    return ValueTask.FromResult(message.CreateErrorReply(new MessageError(DivergedCode, diverged)));
                }

                reply.Arrays[RecordNames.Model] = fit.Parameters;
                var metrics = new MetricRecord(fit.Metrics) { [RecordNames.NumExamples] = fit.NumExamples };
                reply.Metrics[RecordNames.Metrics] = metrics;
                break;
            }

            case MessageType.Evaluate:
            {
                var global = RequireModel(content);
                if (DescribeModelMismatch(global) is { } mismatch)
                {
                    return ValueTask.FromResult(message.CreateErrorReply(new MessageError(ModelMismatchCode, mismatch)));
                }

                var eval = Evaluate(global, config, cancellationToken);
                var metrics = new MetricRecord { ["loss"] = eval.Loss };
                foreach (var (k, v) in eval.Metrics)
                {
                    metrics[k] = v;
                }

                metrics[RecordNames.NumExamples] = eval.NumExamples;
                reply.Metrics[RecordNames.Metrics] = metrics;
                break;
            }

            case MessageType.Query:
                reply.Arrays[RecordNames.Model] = GetParameters(config);
                reply.Configs["properties"] = GetProperties(config);
                break;
            default:
                return ValueTask.FromResult(message.CreateErrorReply(new MessageError("unsupported", $"this client does not handle {message.Metadata.MessageType} messages")));
        }

        return ValueTask.FromResult(message.CreateReply(reply));
    }

    /// <summary>"training diverged: ..." when the loss or a parameter is NaN or infinite; null otherwise.</summary>
    private static string? DescribeDivergence(FitResult fit)
    {
        if (fit.Metrics.TryGetValue("loss", out var loss) && !double.IsFinite(loss))
        {
            return $"training diverged: the loss is {(double.IsNaN(loss) ? "NaN" : "infinite")}; lower the learning rate ('lr')";
        }

        foreach (var (name, tensor) in fit.Parameters)
        {
            if (!Aggregation.AggregationKernels.AllFinite(tensor))
            {
                return $"training diverged: tensor '{name}' contains NaN or infinity; lower the learning rate ('lr')";
            }
        }

        return null;
    }

    private static ArrayRecord RequireModel(RecordDict content) =>
        content.Arrays.TryGetValue(RecordNames.Model, out var model) ? model : throw new InvalidOperationException("instruction has no 'model' array record");
}
