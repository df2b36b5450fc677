using System.Globalization;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// A stage of the secure-aggregation workflow on the server: runs only while the round has not failed, exchanges
/// <see cref="MessageType.Custom"/> messages with the stage's deadline, and turns malformed replies into recorded
/// failures (the node then counts as dropped at this stage).
/// </summary>
internal abstract class SecAggStage(SecAggPlusSettings settings) : IRoundStage
{
    public abstract string Name { get; }

    protected SecAggPlusSettings Settings { get; } = settings;

    public async ValueTask RunAsync(RoundExecution round, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(round);
        var state = round.Items.TryGetValue(SecAggRoundState.ItemKey, out var s) ? (SecAggRoundState)s : null;
        if (state is { Failed: not null })
        {
            return;
        }

        await RunAsync(round, state, cancellationToken).ConfigureAwait(false);
        if (round.Items.TryGetValue(SecAggRoundState.ItemKey, out var after) && after is SecAggRoundState { Failed: { } reason })
        {
            round.Failures.Add(new RoundFailure(0, Name, "secagg_failed", reason));
        }
    }

    /// <summary>Runs the stage; <paramref name="state"/> is null only before <see cref="SetupStage"/> has run.</summary>
    protected abstract ValueTask RunAsync(RoundExecution round, SecAggRoundState? state, CancellationToken cancellationToken);

    /// <summary>The round's secure-aggregation state, which every stage after setup needs.</summary>
    protected static SecAggRoundState Require(SecAggRoundState? state) =>
        state ?? throw new InvalidOperationException("a secure-aggregation stage ran before the setup stage");

    /// <summary>
    /// Exchanges <paramref name="instructions"/>; returns the successful replies by node, those refused by
    /// <paramref name="accept"/> recorded as failures. With <paramref name="aggregator"/> the replies are folded into it
    /// by the grid and not kept (memory O(model)).
    /// </summary>
    protected async Task<Dictionary<long, Message>> ExchangeAsync(RoundExecution round, IReadOnlyList<Message> instructions, Func<Message, string?> accept, CancellationToken cancellationToken, ITrainAggregator? aggregator = null)
    {
        var replies = new Dictionary<long, Message>();
        await foreach (var reply in round.ExchangeAsync(Name, instructions, Settings.Timeout, aggregator, cancellationToken).ConfigureAwait(false))
        {
            long node = reply.Metadata.SourceNodeId;
            if (accept(reply) is { } problem)
            {
                round.Failures.Add(new RoundFailure(node, Name, "invalid_secagg", problem));
                continue;
            }

            if (aggregator is null)
            {
                replies[node] = reply;
            }
        }

        return replies;
    }

    /// <summary>Fails the round when fewer than the threshold nodes are left; returns true when it failed.</summary>
    protected bool FailBelowThreshold(SecAggRoundState state, int left, string what)
    {
        if (left >= state.Threshold)
        {
            return false;
        }

        state.Failed = string.Create(CultureInfo.InvariantCulture, $"only {left} clients {what}, fewer than the reconstruction threshold {state.Threshold}: the round fails and nothing is unmasked (lower 'secagg_threshold' or sample more clients)");
        return true;
    }

    /// <summary>A secure-aggregation instruction to <paramref name="node"/>.</summary>
    protected Message Instruction(RoundExecution round, long node, RecordDict? content = null)
    {
        content ??= new RecordDict();
        var config = content.Configs.TryGetValue(SecAggNames.Record, out var c) ? c : content.Configs[SecAggNames.Record] = new ConfigRecord();
        config[SecAggNames.Stage] = Name;
        var metadata = new MessageMetadata
        {
            RunId = round.Context.RunId,
            Round = round.Round,
            MessageType = MessageType.Custom,
            SourceNodeId = 0,
            DestinationNodeId = node,
            MessageId = string.Create(CultureInfo.InvariantCulture, $"{round.Context.RunId}/{round.Round}/{Name}/{node}"),
        };
        return new Message(metadata, content);
    }

    /// <summary>The config record of secure aggregation in a reply, or null.</summary>
    protected static ConfigRecord? ReplyConfig(Message reply) =>
        reply.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true ? c : null;

    /// <summary>The bytes under <paramref name="key"/> in <paramref name="config"/>, or null.</summary>
    protected static byte[]? Bytes(ConfigRecord? config, string key) =>
        config is not null && config.TryGetValue(key, out var v) && v.Kind == ConfigValueKind.Bytes ? v.AsBytes() : null;

    /// <summary>A node-id tensor.</summary>
    protected static Tensor NodeTensor(IReadOnlyCollection<long> nodes) => Tensor.FromArray(nodes.ToArray(), nodes.Count);
}
