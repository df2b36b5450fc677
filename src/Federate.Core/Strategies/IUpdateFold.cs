namespace Federate.Core.Strategies;

/// <summary>
/// One update being folded into a <see cref="IStreamingTrainAggregator"/>'s running state. Chunks must already be
/// validated (layout, integrity, finite values): a folded chunk changes the running state at once.
/// </summary>
public interface IUpdateFold
{
    /// <summary>
    /// Folds the little-endian elements in <paramref name="bytes"/> of tensor <paramref name="tensorIndex"/> (in the
    /// global model's order) starting at element <paramref name="elementOffset"/>.
    /// </summary>
    void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Checks a chunk not validated yet for NaN and infinity and folds it: in one pass over the bytes when the fold
    /// supports it (FedAvg's does), else a check then <see cref="FoldChunk"/>. Returns false, with nothing of the
    /// chunk folded, when a value of a floating-point <paramref name="dtype"/> is not finite.
    /// </summary>
    bool TryFoldFiniteChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes, DType dtype)
    {
        if (!AggregationKernels.AllFinite(dtype, bytes))
        {
            return false;
        }

        FoldChunk(tensorIndex, elementOffset, bytes);
        return true;
    }

    /// <summary>
    /// Takes a chunk folded earlier back out (to abandon an update after part of it was folded). The undo is exact
    /// up to float rounding: <c>(s + w·x) − w·x</c> need not equal <c>s</c> bit for bit.
    /// </summary>
    void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes);

    /// <summary>Counts the update (its weight and metrics). Without a commit, the folded chunks must be unfolded.</summary>
    void Commit();
}
