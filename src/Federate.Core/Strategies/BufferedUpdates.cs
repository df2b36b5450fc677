using System.Runtime.InteropServices;

namespace Federate.Core.Strategies;

/// <summary>
/// A round's accepted updates kept for a strategy that needs all of them at once (median, trimmed mean, Krum,
/// Bulyan, q-FedAvg), ordered by node id. Each update lives in memory when small and in a temporary file when large;
/// algorithms read them back block by block (<see cref="Read{T}"/>), so the server holds O(model) in memory whatever the
/// number of clients, and the disk holds clients x model.
/// </summary>
public sealed class BufferedUpdates : IDisposable
{
    private readonly List<Entry> _entries;

    internal BufferedUpdates(ArrayRecord global, List<Entry> entries)
    {
        Global = global;
        _entries = entries;
    }

    /// <summary>The global model the updates were trained from (their layout).</summary>
    public ArrayRecord Global { get; }

    /// <summary>Number of updates.</summary>
    public int Count => _entries.Count;

    /// <summary>The node that sent update <paramref name="update"/>.</summary>
    public long NodeId(int update) => _entries[update].NodeId;

    /// <summary>Its example count.</summary>
    public double NumExamples(int update) => _entries[update].NumExamples;

    /// <summary>Its train metrics.</summary>
    public MetricRecord Metrics(int update) => _entries[update].Metrics;

    /// <summary>
    /// Copies elements [<paramref name="elementOffset"/>, +destination.Length) of tensor <paramref name="tensor"/> of
    /// update <paramref name="update"/>; <typeparamref name="T"/> must be the tensor's element type.
    /// </summary>
    public void Read<T>(int update, int tensor, long elementOffset, Span<T> destination)
        where T : unmanaged =>
        _entries[update].Data.Read(tensor, elementOffset * Marshal.SizeOf<T>(), MemoryMarshal.AsBytes(destination));

    /// <summary>Update <paramref name="update"/> as a whole model in memory (for algorithms that need one at a time).</summary>
    public ArrayRecord Load(int update) => UpdateMath.Map(Global, (t, g) =>
    {
        var tensor = Tensor.Zeros(g.DType, [.. g.Shape]);
        _entries[update].Data.Read(t, 0, tensor.AsBytes());
        return tensor;
    });

    /// <summary>Deletes the buffered updates.</summary>
    public void Dispose()
    {
        foreach (var e in _entries)
        {
            e.Data.Dispose();
        }

        _entries.Clear();
    }

    internal sealed record Entry(long NodeId, double NumExamples, MetricRecord Metrics, ScratchTensors<byte> Data);
}
