using Federate.Core;

namespace Federate.State;

/// <summary>
/// Makes a run durable: after every round it writes a checkpoint (model, strategy and privacy state, history) to a
/// <see cref="StateStore"/>, records which nodes replied, and marks the run finished when it ends. A run stopped by
/// the operator stays unfinished, so the next start with the same settings resumes it. Give it to the run driver
/// before the logging observer, so a logged "round N" line means round N is already durable.
/// </summary>
/// <param name="store">The state store.</param>
/// <param name="runId">The run.</param>
/// <param name="strategy">The strategy the driver uses (its state is checkpointed when it implements <see cref="IStatefulStrategy"/>).</param>
/// <param name="metadata">Safetensors metadata of the checkpoint files.</param>
/// <param name="interrupted">True once the operator asked to stop: the round in flight is then not checkpointed (it may be incomplete).</param>
public sealed class StateRunObserver(StateStore store, string runId, Strategy strategy, IReadOnlyDictionary<string, string>? metadata = null, Func<bool>? interrupted = null) : IRunObserver
{
    // The nodes that replied in the round in flight: written in one transaction when the round ends, not one
    // synchronous commit per reply on the run driver's path.
    private readonly List<long> _replied = [];
    private readonly Lock _repliedLock = new();
    private int _repliedRound;

    /// <inheritdoc />
    public void OnReply(int round, MessageType phase, Message reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        lock (_repliedLock)
        {
            if (round != _repliedRound)
            {
                FlushReplies();
                _repliedRound = round;
            }

            _replied.Add(reply.Metadata.SourceNodeId);
        }
    }

    /// <inheritdoc />
    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_repliedLock)
        {
            FlushReplies();
        }

        if (interrupted?.Invoke() == true)
        {
            store.AppendEvent(runId, "round_interrupted", $"round {record.Round} was interrupted by the operator and is not checkpointed");
            return;
        }

        store.SaveRound(runId, record, global, StrategyState.Export(strategy), metadata, StrategyState.ExportTensors(strategy));
    }

    /// <inheritdoc />
    public void OnRunFinished(RunHistory history, ArrayRecord global)
    {
        ArgumentNullException.ThrowIfNull(history);
        lock (_repliedLock)
        {
            FlushReplies();
        }

        if (history.StopReason == StopReasons.Cancelled)
        {
            store.AppendEvent(runId, "run_interrupted", history.StopDetail ?? "stopped by the operator; start the server again to resume");
            return;
        }

        store.FinishRun(runId, history);
    }

    private void FlushReplies()
    {
        store.RecordNodeReplies(runId, _repliedRound, _replied);
        _replied.Clear();
    }
}
