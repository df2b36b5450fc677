namespace Federate.Core.Client;

/// <summary>Handles one instruction and returns its reply.</summary>
public delegate ValueTask<Message> ClientAppHandler(Message message, CancellationToken cancellationToken);

/// <summary>Middleware around a client app (DP clipping, encryption, budget enforcement, ...).</summary>
public delegate ValueTask<Message> ClientMod(Message message, ClientAppHandler next, CancellationToken cancellationToken);

/// <summary>A client app: answers train, evaluate and query instructions for one node.</summary>
public interface IClientApp
{
    /// <summary>Handles an instruction. Expected failures come back as error replies, not exceptions.</summary>
    ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken);
}

/// <summary>A client app made of a handler wrapped by mods; the first mod registered runs first.</summary>
public sealed class ModularClientApp : IClientApp
{
    private readonly ClientAppHandler _pipeline;

    /// <summary>Wraps <paramref name="handler"/> with <paramref name="mods"/> (first runs first).</summary>
    public ModularClientApp(ClientAppHandler handler, params ClientMod[] mods)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var pipeline = handler;
        for (int i = mods.Length - 1; i >= 0; i--)
        {
            var mod = mods[i];
            var next = pipeline;
            pipeline = (m, ct) => mod(m, next, ct);
        }

        _pipeline = pipeline;
    }

    /// <inheritdoc />
    public async ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or NotSupportedException or InvalidDataException or KeyNotFoundException or InvalidCastException)
        {
            return message.CreateErrorReply(new MessageError("client_error", ex.Message));
        }
    }
}

/// <summary>The result of <see cref="FederatedClient.Fit"/>.</summary>
/// <param name="Parameters">The locally trained model.</param>
/// <param name="NumExamples">Examples trained on (the FedAvg weight).</param>
/// <param name="Metrics">Train metrics (loss, ...).</param>
public sealed record FitResult(ArrayRecord Parameters, long NumExamples, MetricRecord Metrics);

/// <summary>The result of <see cref="FederatedClient.Evaluate"/>.</summary>
/// <param name="Loss">Loss on local test data.</param>
/// <param name="NumExamples">Examples evaluated.</param>
/// <param name="Metrics">Other metrics (accuracy, f1, ...).</param>
public sealed record EvaluateResult(double Loss, long NumExamples, MetricRecord Metrics);

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
