using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Core.Aggregation;

/// <summary>
/// Model-sized buffers of an aggregation round (the running sum that becomes the next global model). A round's sum
/// is allocated where the previous round's dead global model was: the garbage of a large model is collected first
/// (<see cref="Reclaim"/>), so the new buffer reuses memory the process already has (no page faults, no growth of
/// the resident set round after round), and it is not zeroed (the first fold writes it,
/// <see cref="AggregationKernels.FoldWeighted(Span{float}, ReadOnlySpan{float}, float, bool)"/>).
/// </summary>
public static class ModelBuffers
{
    private static long _allocatedAtLastReclaim = -1;

    /// <summary>Buffers of at least this many bytes in all have the garbage collected before they are allocated. 8 MiB.</summary>
    public const long ReclaimThresholdBytes = 8L << 20;

    /// <summary>
    /// Collects garbage (a blocking full collection, without compaction) before <paramref name="bytes"/> of model
    /// buffers are allocated, when they are at least <see cref="ReclaimThresholdBytes"/> and at least that many bytes
    /// were allocated since the last such collection (otherwise there is not enough new garbage to make room).
    /// Returns true when it collected.
    /// </summary>
    public static bool Reclaim(long bytes)
    {
        if (bytes < ReclaimThresholdBytes)
        {
            return false;
        }

        long allocated = GC.GetTotalAllocatedBytes();
        long last = Interlocked.Read(ref _allocatedAtLastReclaim);
        if (last >= 0 && allocated - last < bytes)
        {
            return false;
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        Interlocked.Exchange(ref _allocatedAtLastReclaim, GC.GetTotalAllocatedBytes());
        return true;
    }

    /// <summary>A float32 or float64 tensor whose elements are not initialised (whatever the memory held).</summary>
    internal static Tensor Uninitialized(DType dtype, long[] shape)
    {
        int n = checked((int)Tensor.ElementCount(shape));
        return dtype switch
        {
            DType.Float32 => Tensor.FromArray(GC.AllocateUninitializedArray<float>(n), shape),
            DType.Float64 => Tensor.FromArray(GC.AllocateUninitializedArray<double>(n), shape),
            _ => throw new ArgumentException($"no uninitialised {dtype} buffers", nameof(dtype)),
        };
    }
}
