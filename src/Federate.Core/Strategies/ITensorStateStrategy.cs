namespace Federate.Core.Strategies;

/// <summary>
/// A strategy whose state across rounds includes tensors (server-optimizer moments, momentum): checkpoints save them
/// beside the global model in a safetensors file (never as JSON), and a resumed run restores them before its first
/// round so it continues bit for bit as an uninterrupted run. Scalars (accountants, clip norms) stay in
/// <see cref="IStatefulStrategy"/>.
/// </summary>
public interface ITensorStateStrategy
{
    /// <summary>The state tensors to save after a round; empty when there is no state yet.</summary>
    IReadOnlyList<StateTensor> ExportTensors();

    /// <summary>
    /// Restores tensors saved from <see cref="ExportTensors"/>; a strategy whose tensors are absent starts afresh.
    /// Throws <see cref="FormatException"/> when a tensor does not fit the strategy.
    /// </summary>
    void ImportTensors(StateTensorFile file);
}
