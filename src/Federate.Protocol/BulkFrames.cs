using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Federate.Core;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;

namespace Federate.Protocol;

/// <summary>
/// The bulk transfer endpoint (plain HTTP/1.1 beside the gRPC API, see docs/protocol.md): its paths and headers, and
/// its framing. A bulk stream is a sequence of frames, each a 4-byte little-endian length, that many bytes of a
/// protobuf <see cref="TaskFrame"/> (downloads) or <see cref="UpdateFrame"/> (uploads), and for a
/// <see cref="TensorChunk"/> frame its <see cref="TensorChunk.DataLength"/> raw bytes right after it, so a receiver
/// reads them straight into the tensor.
/// </summary>
public static class BulkFrames
{
    /// <summary>Request header naming the node that calls.</summary>
    public const string NodeHeader = "federate-node";

    /// <summary>Response header of a refusal: the gRPC status code number, so a client handles it like the gRPC call's.</summary>
    public const string StatusHeader = "federate-status";

    /// <summary>Query parameter of a resumed download: <c>TENSOR:OFFSET</c> of the first byte wanted.</summary>
    public const string FromParameter = "from";

    /// <summary>Path of the upload of a task's reply (POST; body: an UpdateHeader frame, then chunks and digests).</summary>
    public const string UpdatesPath = "/fleet/v1/updates";

    /// <summary>Largest frame (without its raw data) accepted: the same bound as a gRPC message.</summary>
    public const int MaxFrameLength = FleetProtocol.MaxMessageSize;

    /// <summary>Path of the download of a task's tensors (GET, the task's message id in the query; body: chunks and digests).</summary>
    public const string TensorsPath = "/fleet/v1/tensors";

    /// <summary>Query parameter naming the task whose tensors a download wants: its message id.</summary>
    public const string TaskParameter = "task";

    /// <summary>The download URL of a task's tensors, from chunk boundary <paramref name="fromTensor"/>:<paramref name="fromOffset"/>.</summary>
    public static string TaskPath(string messageId, int fromTensor = 0, long fromOffset = 0) =>
        $"{TensorsPath}?{TaskParameter}={Uri.EscapeDataString(messageId)}" + (fromTensor > 0 || fromOffset > 0 ? $"&{FromParameter}={fromTensor}:{fromOffset}" : "");

    /// <summary>Writes one frame, then <paramref name="data"/> (the chunk's raw bytes, empty for other frames).</summary>
    public static async ValueTask WriteAsync(Stream stream, IMessage frame, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(frame);
        int size = frame.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(size + 4);
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, size);
            frame.WriteTo(buffer.AsSpan(4, size));
            await stream.WriteAsync(buffer.AsMemory(0, size + 4), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (!data.IsEmpty)
        {
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the next frame; null at the end of the stream. Throws <see cref="InvalidDataException"/> for a frame
    /// that is too long or not protobuf, <see cref="EndOfStreamException"/> when the stream ends inside a frame.
    /// </summary>
    public static async ValueTask<T?> ReadAsync<T>(Stream stream, MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(parser);
        var prefix = new byte[4];
        int got = await stream.ReadAtLeastAsync(prefix, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < 4)
        {
            throw new EndOfStreamException("the stream ended inside a frame");
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length < 0 || length > MaxFrameLength)
        {
            throw new InvalidDataException($"a frame of {length} bytes; frames hold at most {MaxFrameLength} bytes");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            try
            {
                return parser.ParseFrom(buffer, 0, length);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new InvalidDataException($"an undecodable frame: {ex.Message}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the chunk and digest frames of <paramref name="tensors"/> from tensor <paramref name="fromTensor"/>, byte
    /// <paramref name="fromOffset"/> on (a resumed transfer starts at a chunk boundary the receiver names). Chunk bytes
    /// go out straight from the tensors' memory, or sealed by <paramref name="seal"/> (payload encryption).
    /// <paramref name="digests"/> gives a tensor's chunk digests when they are known already (null: hashed here).
    /// <paramref name="wrap"/> turns a chunk or digest into the stream's frame type. Returns the tensor bytes written.
    /// </summary>
    public static async Task<long> WriteTensorsAsync(
        Stream stream,
        IReadOnlyList<Tensor> tensors,
        int chunkSize,
        int fromTensor,
        long fromOffset,
        Func<TensorChunk?, TensorDigest?, IMessage> wrap,
        Func<Tensor, byte[][]?>? digests,
        ChunkSealer? seal,
        Action<int>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(wrap);
        long bytes = 0;
        for (int i = Math.Max(0, fromTensor); i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            int size = TensorChunks.EffectiveChunkSize(tensor, chunkSize);
            var memory = TensorChunks.AsMemory(tensor);
            long start = i == fromTensor ? fromOffset : 0;
            if (start % size != 0 || start < 0 || start > memory.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(fromOffset), $"byte offset {start} of tensor {i} is not a chunk boundary");
            }

            int count = (int)((memory.Length + size - 1) / size);
            var known = digests?.Invoke(tensor);
            using var tensorHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

            // Without known digests, chunks are hashed a few ahead on the thread pool while earlier ones are written.
            var ahead = new Queue<Task<byte[]>>();
            int first = (int)(start / size);
            int next = first;
            for (int k = 0; k < count; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                byte[] sha;
                if (known is not null)
                {
                    sha = known[k];
                }
                else if (k < first)
                {
                    sha = SHA256.HashData(Slice(memory, k, size).Span);
                }
                else
                {
                    for (; next < count && next < k + HashAhead; next++)
                    {
                        var slice = Slice(memory, next, size);
                        ahead.Enqueue(Task.Run(() => SHA256.HashData(slice.Span), cancellationToken));
                    }

                    sha = await ahead.Dequeue().ConfigureAwait(false);
                }

                tensorHash.AppendData(sha);
                long offset = (long)k * size;
                if (offset < start)
                {
                    continue;
                }

                var data = Slice(memory, k, size);
                int plain = data.Length;
                var chunk = new TensorChunk { TensorIndex = (uint)i, Offset = (ulong)offset, Sha256 = UnsafeByteOperations.UnsafeWrap(sha) };
                if (seal is not null)
                {
                    var (sealedData, nonce, tag) = seal(data, chunk.TensorIndex, chunk.Offset);
                    data = sealedData;
                    chunk.Nonce = UnsafeByteOperations.UnsafeWrap(nonce);
                    chunk.Tag = UnsafeByteOperations.UnsafeWrap(tag);
                }

                chunk.DataLength = (uint)data.Length;
                await WriteAsync(stream, wrap(chunk, null), data, cancellationToken).ConfigureAwait(false);
                bytes += plain;
                progress?.Invoke(plain);
            }

            var tensorDigest = new TensorDigest { TensorIndex = (uint)i, Sha256 = UnsafeByteOperations.UnsafeWrap(tensorHash.GetHashAndReset()) };
            await WriteAsync(stream, wrap(null, tensorDigest), default, cancellationToken).ConfigureAwait(false);
        }

        return bytes;
    }

    /// <summary>Chunks hashed ahead of the one being written when the sender hashes as it goes.</summary>
    private const int HashAhead = 4;

    private static ReadOnlyMemory<byte> Slice(ReadOnlyMemory<byte> memory, int k, int size)
    {
        long offset = (long)k * size;
        return memory.Slice((int)offset, (int)Math.Min(size, memory.Length - offset));
    }

    /// <summary>Reads exactly <paramref name="into"/>.Length raw bytes (a chunk's data).</summary>
    public static ValueTask ReadDataAsync(Stream stream, Memory<byte> into, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return stream.ReadExactlyAsync(into, cancellationToken);
    }
}
