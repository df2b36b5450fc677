namespace Federate.Core;

/// <summary>Receives the run driver's lifecycle events (progress displays, notifications, state stores).</summary>
public interface IRunObserver
{
    /// <summary>The run starts with its initial global model.</summary>
    void OnRunStarted(RunHistory history, ArrayRecord initial) { }

    /// <summary>A round starts; <paramref name="sampled"/> nodes get train instructions.</summary>
    void OnRoundStarted(int round, int sampled) { }

    /// <summary>A train or evaluate reply arrived (successful or not).</summary>
    void OnReply(int round, MessageType phase, Message reply) { }

    /// <summary>A round finished with a new global model.</summary>
    void OnRoundCompleted(RoundRecord record, ArrayRecord global) { }

    /// <summary>The run finished.</summary>
    void OnRunFinished(RunHistory history, ArrayRecord global) { }
}

/// <summary>The final model and history of a run.</summary>
/// <param name="Parameters">The final global model.</param>
/// <param name="History">Rounds and stop reason.</param>
public sealed record RunResult(ArrayRecord Parameters, RunHistory History);
