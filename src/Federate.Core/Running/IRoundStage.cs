namespace Federate.Core.Running;

/// <summary>
/// One exchange of a round with the nodes (train, evaluate, or a stage of your own such as a query first, or the
/// several exchanges of secure aggregation). A round runs its stages in order (<see cref="RunOptions.Stages"/>);
/// each stage sends instructions through <see cref="RoundExecution.ExchangeAsync"/>, which applies the stage's own
/// deadline and turns node errors, drops and timeouts into recorded failures (values, never exceptions).
/// </summary>
public interface IRoundStage
{
    /// <summary>The stage's name, recorded as the phase of its failures (e.g. "train").</summary>
    string Name { get; }

    /// <summary>
    /// Runs the stage. Cancellation is the only exception a stage lets out; a round whose model was already updated
    /// (<see cref="RoundExecution.ModelUpdated"/>) is then still recorded.
    /// </summary>
    ValueTask RunAsync(RoundExecution round, CancellationToken cancellationToken);
}
