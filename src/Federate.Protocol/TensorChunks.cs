using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;

namespace Federate.Protocol;

/// <summary>
/// Splits tensors into wire chunks without copying their data: each chunk's bytes are a window over the tensor's
/// own array (<see cref="UnsafeByteOperations.UnsafeWrap(ReadOnlyMemory{byte})"/>), so the tensor must not change
/// until the chunk is written.
/// </summary>
public static class TensorChunks
{
    /// <summary>The tensor's elements as raw little-endian bytes, as memory (no copy).</summary>
    public static ReadOnlyMemory<byte> AsMemory(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DType switch
        {
            DType.Float32 => new ByteView<float>(tensor.GetArray<float>()).Memory,
            DType.Float64 => new ByteView<double>(tensor.GetArray<double>()).Memory,
            DType.Float16 => new ByteView<Half>(tensor.GetArray<Half>()).Memory,
            DType.Int8 => new ByteView<sbyte>(tensor.GetArray<sbyte>()).Memory,
            DType.Int16 => new ByteView<short>(tensor.GetArray<short>()).Memory,
            DType.Int32 => new ByteView<int>(tensor.GetArray<int>()).Memory,
            DType.Int64 => new ByteView<long>(tensor.GetArray<long>()).Memory,
            DType.UInt8 => tensor.GetArray<byte>(),
            DType.UInt16 => new ByteView<ushort>(tensor.GetArray<ushort>()).Memory,
            DType.UInt32 => new ByteView<uint>(tensor.GetArray<uint>()).Memory,
            DType.UInt64 => new ByteView<ulong>(tensor.GetArray<ulong>()).Memory,
            DType.Bool => new ByteView<bool>(tensor.GetArray<bool>()).Memory,
            _ => throw new NotSupportedException($"dtype {tensor.DType}"),
        };
    }

    /// <summary>The chunk size actually used for a tensor: <paramref name="chunkSize"/> rounded down to whole elements.</summary>
    public static int EffectiveChunkSize(Tensor tensor, int chunkSize)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int elem = tensor.DType.SizeOf();
        return Math.Max(elem, chunkSize / elem * elem);
    }

    /// <summary>
    /// The SHA-256 of every chunk of a tensor, computed in parallel; pass them to <see cref="Split"/> to send the same
    /// tensor to many peers while hashing it once.
    /// </summary>
    public static byte[][] ComputeChunkDigests(Tensor tensor, int chunkSize)
    {
        int size = EffectiveChunkSize(tensor, chunkSize);
        var memory = AsMemory(tensor);
        int count = (int)((memory.Length + size - 1) / size);
        var digests = new byte[count][];
        Parallel.For(0, count, i =>
        {
            long offset = (long)i * size;
            digests[i] = SHA256.HashData(memory.Span.Slice((int)offset, (int)Math.Min(size, memory.Length - offset)));
        });
        return digests;
    }

    /// <summary>
    /// The chunks of one tensor followed by its digest frame. Chunk sizes are rounded down to whole elements.
    /// <paramref name="chunkDigests"/>, when given, must come from <see cref="ComputeChunkDigests"/> with the same chunk size.
    /// </summary>
    public static IEnumerable<(TensorChunk? Chunk, TensorDigest? Digest)> Split(Tensor tensor, uint index, int chunkSize, byte[][]? chunkDigests = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int size = EffectiveChunkSize(tensor, chunkSize);
        var memory = AsMemory(tensor);
        using var tensorHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int k = 0;
        for (long offset = 0; offset < memory.Length; offset += size)
        {
            int n = (int)Math.Min(size, memory.Length - offset);
            var slice = memory.Slice((int)offset, n);
            var digest = chunkDigests is null ? SHA256.HashData(slice.Span) : chunkDigests[k++];
            tensorHash.AppendData(digest);
            yield return (new TensorChunk
            {
                TensorIndex = index,
                Offset = (ulong)offset,
                Data = UnsafeByteOperations.UnsafeWrap(slice),
                Sha256 = UnsafeByteOperations.UnsafeWrap(digest),
            }, null);
        }

        yield return (null, new TensorDigest { TensorIndex = index, Sha256 = UnsafeByteOperations.UnsafeWrap(tensorHash.GetHashAndReset()) });
    }

    private sealed class ByteView<T>(T[] array) : MemoryManager<byte>
        where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
