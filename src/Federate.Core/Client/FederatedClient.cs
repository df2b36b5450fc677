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
                var fit = Fit(RequireModel(content), config, cancellationToken);
                reply.Arrays[RecordNames.Model] = fit.Parameters;
                var metrics = new MetricRecord(fit.Metrics) { [RecordNames.NumExamples] = fit.NumExamples };
                reply.Metrics[RecordNames.Metrics] = metrics;
                break;
            }

            case MessageType.Evaluate:
            {
                var eval = Evaluate(RequireModel(content), config, cancellationToken);
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

    private static ArrayRecord RequireModel(RecordDict content) =>
        content.Arrays.TryGetValue(RecordNames.Model, out var model) ? model : throw new InvalidOperationException("instruction has no 'model' array record");
}
