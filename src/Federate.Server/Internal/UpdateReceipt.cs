using System.Buffers;
using System.Runtime.InteropServices;
using Federate.Core;
using Federate.Core.Diagnostics;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Grpc.Core;

namespace Federate.Server.Internal;

/// <summary>
/// Where the chunks of one update go, whatever carries them (gRPC frames or the bulk HTTP body): decrypted, checked
/// (place, SHA-256, NaN and infinity), counted, then copied into the reply's tensors or folded and spooled.
/// </summary>
internal sealed class UpdateReceipt(
    PendingTask task,
    IReadOnlyList<TensorLayout> layouts,
    List<(long Bytes, int ElementSize)> sizes,
    ChunkVerifier verifier,
    PayloadCipher? cipher,
    Tensor[]? tensors,
    SpoolFile? spool,
    IUpdateFold? fold,
    Federate.Core.Compression.UpdateDecoder? decoding,
    FleetNode? node,
    Func<string, RpcException> refuse)
{
    public ChunkVerifier Verifier => verifier;

    public PayloadCipher? Cipher => cipher;

    /// <summary>Bytes already folded into the running sum (taken back out if the update fails later).</summary>
    public long Folded { get; private set; }

    public RpcException Refuse(string problem) => refuse(problem);

    /// <summary>Stops reading when the round timed out or the node was dropped while it uploads.</summary>
    public void ThrowIfClosed()
    {
        if (task.IsClosed)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"round {task.Round} is finished"));
        }
    }

    /// <summary>Decrypts a chunk in place (payload encryption); null or a one-line problem.</summary>
    public string? Open(Span<byte> data, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag, uint tensorIndex, ulong offset) =>
        cipher is null || cipher.TryDecryptInPlace(data, nonce, tag, PayloadDirection.ToServer, tensorIndex, offset, out var problem) ? null : problem;

    /// <summary>
    /// The NaN and infinity check of a chunk that is not folded straight away (a folded one is checked by the fold
    /// itself, in the same pass); null or a one-line problem. Runs beside the hash, in any order.
    /// </summary>
    public string? Inspect(uint tensorIndex, ulong offset, ReadOnlySpan<byte> data)
    {
        var layout = layouts[(int)tensorIndex];
        bool finite = fold is not null || layout.Dtype switch
        {
            DataType.Float32 => AggregationKernels.AllFinite(MemoryMarshal.Cast<byte, float>(data)),
            DataType.Float64 => AggregationKernels.AllFinite(MemoryMarshal.Cast<byte, double>(data)),
            _ => true,
        };
        return finite ? null : $"tensor '{layout.Name}' contains NaN or infinity (chunk at byte offset {offset})";
    }

    /// <summary>
    /// Where a bulk chunk's bytes are read to: straight into the reply's tensor, or (spooled train updates) a pooled
    /// buffer that <see cref="Release"/> returns once the chunk is folded and spooled.
    /// </summary>
    public Memory<byte> Destination(uint tensorIndex, ulong offset, int length)
    {
        ThrowIfClosed();
        return tensors is not null
            ? MemoryMarshal.AsMemory(TensorChunks.AsMemory(tensors[tensorIndex]).Slice((int)offset, length))
            : ArrayPool<byte>.Shared.Rent(length).AsMemory(0, length);
    }

    /// <summary>Returns a buffer from <see cref="Destination"/> once its chunk was accepted.</summary>
    public void Release(Memory<byte> buffer)
    {
        if (tensors is null && MemoryMarshal.TryGetArray<byte>(buffer, out var segment) && segment.Array is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>
    /// Takes a verified chunk, in order: counts it, checks a compressed update's blocks, then spools and folds it
    /// (the fold checks for NaN and infinity in the same pass) or puts it in its tensor; null or a one-line problem.
    /// </summary>
    public string? Accept(uint tensorIndex, ulong offset, ReadOnlySpan<byte> data)
    {
        ServerTelemetry.Received(data.Length);
        if (node is not null)
        {
            Interlocked.Add(ref node.BytesIn, data.Length);
        }

        if (decoding?.Check((int)tensorIndex, (long)offset, data) is { } decodeProblem)
        {
            return $"the compressed update does not decode: {decodeProblem}";
        }

        if (spool is not null)
        {
            FaultPoints.Reach("upload", task.Round);
            spool.Write(data);
            if (fold is not null)
            {
                var layout = layouts[(int)tensorIndex];
                Mapping.TryFromProto(layout.Dtype, out var dtype);
                if (!fold.TryFoldFiniteChunk((int)tensorIndex, (long)offset / sizes[(int)tensorIndex].ElementSize, data, dtype))
                {
                    return $"tensor '{layout.Name}' contains NaN or infinity (chunk at byte offset {offset})";
                }

                Folded += data.Length;
                FaultPoints.Reach("fold", task.Round);
            }
        }
        else if (tensors is not null)
        {
            var into = tensors[tensorIndex].AsBytes()[(int)offset..];
            if (!into.Overlaps(data, out int shift) || shift != 0)
            {
                data.CopyTo(into); // gRPC frames are copied; the bulk path read the chunk into place already
            }
        }

        return null;
    }
}
