namespace Federate.Core.Running;

/// <summary>Several observers as one: every event goes to each of them in order (the async ones awaited in turn).</summary>
/// <param name="observers">The observers, in the order they are told.</param>
public sealed class CompositeRunObserver(IReadOnlyList<IRunObserver> observers) : IRunObserver
{
    private readonly IRunObserver[] _observers = [.. observers ?? throw new ArgumentNullException(nameof(observers))];

    /// <inheritdoc />
    public void OnRunStarted(RunHistory history, ArrayRecord initial) => Each(o => o.OnRunStarted(history, initial));

    /// <inheritdoc />
    public void OnRoundStarted(int round, int sampled)
    {
        foreach (var o in _observers)
        {
            o.OnRoundStarted(round, sampled);
        }
    }

    /// <inheritdoc />
    public void OnReply(int round, MessageType phase, Message reply)
    {
        foreach (var o in _observers)
        {
            o.OnReply(round, phase, reply);
        }
    }

    /// <inheritdoc />
    public void OnRoundCompleted(RoundRecord record, ArrayRecord global) => Each(o => o.OnRoundCompleted(record, global));

    /// <inheritdoc />
    public void OnRunFinished(RunHistory history, ArrayRecord global) => Each(o => o.OnRunFinished(history, global));

    /// <inheritdoc />
    public ValueTask OnRunStartedAsync(RunHistory history, ArrayRecord initial, CancellationToken cancellationToken)
        => EachAsync(o => o.OnRunStartedAsync(history, initial, cancellationToken));

    /// <inheritdoc />
    public ValueTask OnRoundCompletedAsync(RoundRecord record, ArrayRecord global, CancellationToken cancellationToken)
        => EachAsync(o => o.OnRoundCompletedAsync(record, global, cancellationToken));

    /// <inheritdoc />
    public ValueTask OnRunFinishedAsync(RunHistory history, ArrayRecord global, CancellationToken cancellationToken)
        => EachAsync(o => o.OnRunFinishedAsync(history, global, cancellationToken));

    private void Each(Action<IRunObserver> action)
    {
        foreach (var o in _observers)
        {
            action(o);
        }
    }

    private async ValueTask EachAsync(Func<IRunObserver, ValueTask> action)
    {
        foreach (var o in _observers)
        {
            await action(o).ConfigureAwait(false);
        }
    }
}
