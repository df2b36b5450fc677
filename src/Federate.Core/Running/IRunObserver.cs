namespace Federate.Core.Running;

/// <summary>
/// Receives the run driver's lifecycle events (progress displays, notifications, state stores). The per-reply and
/// round-start events are synchronous and must be cheap (they are on the path of every reply); the run and round
/// boundaries are awaited, so an observer that writes to disk or a database does it asynchronously there. The async
/// methods call the synchronous ones by default, so an observer implements whichever fits.
/// </summary>
public interface IRunObserver
{
    /// <summary>The run starts with its initial global model.</summary>
    void OnRunStarted(RunHistory history, ArrayRecord initial) { }

    /// <summary>A round starts; <paramref name="sampled"/> nodes get train instructions.</summary>
    void OnRoundStarted(int round, int sampled) { }

    /// <summary>A reply of any stage arrived (successful or not).</summary>
    void OnReply(int round, MessageType phase, Message reply) { }

    /// <summary>A round finished with a new global model.</summary>
    void OnRoundCompleted(RoundRecord record, ArrayRecord global) { }

    /// <summary>The run finished.</summary>
    void OnRunFinished(RunHistory history, ArrayRecord global) { }

    /// <summary>Awaited when the run starts; calls <see cref="OnRunStarted"/> by default.</summary>
    ValueTask OnRunStartedAsync(RunHistory history, ArrayRecord initial, CancellationToken cancellationToken)
    {
        OnRunStarted(history, initial);
        return ValueTask.CompletedTask;
    }

    /// <summary>Awaited when a round is complete, before the next starts; calls <see cref="OnRoundCompleted"/> by default.</summary>
    ValueTask OnRoundCompletedAsync(RoundRecord record, ArrayRecord global, CancellationToken cancellationToken)
    {
        OnRoundCompleted(record, global);
        return ValueTask.CompletedTask;
    }

    /// <summary>Awaited when the run has finished; calls <see cref="OnRunFinished"/> by default.</summary>
    ValueTask OnRunFinishedAsync(RunHistory history, ArrayRecord global, CancellationToken cancellationToken)
    {
        OnRunFinished(history, global);
        return ValueTask.CompletedTask;
    }
}
