using Federate.Core;

namespace Federate.Server.Inspector;

/// <summary>Calls several observers in order.</summary>
internal sealed class CompositeRunObserver(IReadOnlyList<IRunObserver> observers) : IRunObserver
{
    public void OnRunStarted(RunHistory history, ArrayRecord initial)
    {
        foreach (var o in observers)
        {
            o.OnRunStarted(history, initial);
        }
    }

    public void OnRoundStarted(int round, int sampled)
    {
        foreach (var o in observers)
        {
            o.OnRoundStarted(round, sampled);
        }
    }

    public void OnReply(int round, MessageType phase, Message reply)
    {
        foreach (var o in observers)
        {
            o.OnReply(round, phase, reply);
        }
    }

    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        foreach (var o in observers)
        {
            o.OnRoundCompleted(record, global);
        }
    }

    public void OnRunFinished(RunHistory history, ArrayRecord global)
    {
        foreach (var o in observers)
        {
            o.OnRunFinished(history, global);
        }
    }
}
