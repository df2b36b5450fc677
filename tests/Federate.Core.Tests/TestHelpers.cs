using System.Runtime.CompilerServices;
using Federate.Core;

namespace Federate.Core.Tests;

/// <summary>A grid that runs client apps synchronously in instruction order.</summary>
internal sealed class DirectGrid(IReadOnlyDictionary<long, IClientApp> apps) : IGrid
{
    public List<IReadOnlyList<Message>> Sent { get; } = [];

    public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NodeInfo>>([.. apps.Keys.Order().Select(id => new NodeInfo(id, $"n{id}"))]);

    public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Sent.Add(instructions);
        foreach (var m in instructions)
        {
            yield return await apps[m.Metadata.DestinationNodeId].HandleAsync(m, cancellationToken);
        }
    }
}

/// <summary>A client that returns fixed parameters and metrics.</summary>
internal sealed class FixedClient(Func<ArrayRecord, int, ArrayRecord> train, long examples, Func<int, double> accuracy) : FederatedClient
{
    public override ArrayRecord GetParameters(ConfigRecord config) => new();

    public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
        new(train(parameters, (int)config.GetLong(RecordNames.ServerRound, 0)), examples, new MetricRecord { ["loss"] = 1.0 / examples });

    public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
        new(0.5, examples, new MetricRecord { ["accuracy"] = accuracy((int)config.GetLong(RecordNames.ServerRound, 0)) });
}

internal static class Records
{
    public static ArrayRecord Vector(params float[] values) => new() { { "w", Tensor.FromArray(values, values.Length) } };

    public static Message Reply(ArrayRecord parameters, double examples, long node = 1)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = parameters;
        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = examples, ["loss"] = examples };
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, SourceNodeId = node }, content);
    }
}
