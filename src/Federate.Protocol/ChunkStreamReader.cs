using System.Security.Cryptography;
using Federate.Protocol.Fleet.V1;

namespace Federate.Protocol;

/// <summary>
/// Receives the chunk and digest frames of a bulk stream (<see cref="BulkFrames"/>) with the checks of a
/// <see cref="ChunkVerifier"/>, hashing off the read path: each chunk's place and size are checked before its bytes
/// are read (straight into where they belong), its SHA-256 is computed on the thread pool while the next chunks are
/// read, and chunks are handed on in order once their hashes match. At most <see cref="Depth"/> chunks are in flight,
/// so a slow consumer slows the sender (back-pressure) and memory stays bounded.
/// </summary>
/// <remarks>
/// After a broken stream the same reader carries on from <see cref="ChunkVerifier.CurrentTensor"/> and
/// <see cref="ChunkVerifier.CurrentOffset"/> of its verifier (a resumed download): a chunk cut in the middle counts
/// as not received.
/// </remarks>
public sealed class ChunkStreamReader
{
    private readonly ChunkVerifier _verifier;
    private readonly Func<uint, ulong, int, Memory<byte>> _destination;
    private readonly ChunkOpener? _open;
    private readonly Func<uint, ulong, ReadOnlyMemory<byte>, string?>? _inspect;
    private readonly Func<uint, ulong, Memory<byte>, string?>? _accept;
    private readonly Queue<Pending> _pending = new();

    /// <summary>Chunks hashed (and inspected) in parallel before the oldest is handed on.</summary>
    public const int Depth = 4;

    /// <summary>
    /// Creates a reader. <paramref name="destination"/> says where a chunk's bytes go (a slice of the tensor, or a
    /// buffer the caller rotates: one stays in use until <paramref name="accept"/> has seen it, and at most
    /// <see cref="Depth"/> + 1 are in use at once); <paramref name="open"/> decrypts them in place;
    /// <paramref name="inspect"/> runs beside the hash (a NaN check, say); <paramref name="accept"/> receives good
    /// chunks in order. Each returns null or a one-line problem, which ends the read.
    /// </summary>
    public ChunkStreamReader(ChunkVerifier verifier, Func<uint, ulong, int, Memory<byte>> destination, ChunkOpener? open = null, Func<uint, ulong, ReadOnlyMemory<byte>, string?>? inspect = null, Func<uint, ulong, Memory<byte>, string?>? accept = null)
    {
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        _destination = destination ?? throw new ArgumentNullException(nameof(destination));
        _open = open;
        _inspect = inspect;
        _accept = accept;
    }

    /// <summary>Tensor bytes read so far (including chunks still being checked).</summary>
    public long BytesRead { get; private set; }

    /// <summary>
    /// Reads frames until the stream ends or every tensor has arrived; returns null, or the first problem (a bad
    /// frame, a hash mismatch, a problem from a callback). <paramref name="next"/> reads one frame and gives its chunk
    /// or digest (null at the end of the stream; throws <see cref="InvalidDataException"/> for another frame type).
    /// I/O errors propagate; chunks read in full before them stay counted.
    /// </summary>
    public async Task<string?> ReadAsync(Stream stream, Func<Stream, CancellationToken, ValueTask<(TensorChunk? Chunk, TensorDigest? Digest)?>> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            while (!_verifier.IsAdmitted)
            {
                var frame = await next(stream, cancellationToken).ConfigureAwait(false);
                if (frame is not { } f)
                {
                    break;
                }

                if (f.Digest is { } digest)
                {
                    if (_verifier.AdmitDigest(digest.TensorIndex) is { } bad)
                    {
                        return bad;
                    }

                    _pending.Enqueue(new Pending(null, digest.Sha256.ToByteArray(), digest.TensorIndex, 0, default));
                }
                else if (f.Chunk is { } chunk)
                {
                    int length = (int)Math.Min(chunk.DataLength, int.MaxValue);
                    if (_verifier.Admit(chunk.TensorIndex, chunk.Offset, length) is { } bad)
                    {
                        return bad;
                    }

                    var into = _destination(chunk.TensorIndex, chunk.Offset, length);
                    try
                    {
                        await BulkFrames.ReadDataAsync(stream, into, cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        _verifier.Unadmit(length);
                        throw;
                    }

                    BytesRead += length;
                    if (_open is not null && _open(into.Span, chunk.Nonce.Span, chunk.Tag.Span, chunk.TensorIndex, chunk.Offset) is { } sealedProblem)
                    {
                        return sealedProblem;
                    }

                    uint index = chunk.TensorIndex;
                    var inspect = _inspect;
                    ulong at = chunk.Offset;
                    _pending.Enqueue(new Pending(Task.Run(() => Hash(into, index, at, inspect), cancellationToken), chunk.Sha256.ToByteArray(), index, chunk.Offset, into));
                }

                while (_pending.Count > Depth)
                {
                    if (await SettleOldestAsync().ConfigureAwait(false) is { } problem)
                    {
                        return problem;
                    }
                }
            }

            return await DrainAsync().ConfigureAwait(false);
        }
        catch
        {
            await DrainAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Checks every chunk still in flight; returns the first problem or null.</summary>
    public async Task<string?> DrainAsync()
    {
        string? first = null;
        while (_pending.Count > 0)
        {
            var problem = await SettleOldestAsync(skip: first is not null).ConfigureAwait(false);
            first ??= problem;
        }

        return first;
    }

    private static (byte[] Sha, string? Problem) Hash(Memory<byte> data, uint index, ulong offset, Func<uint, ulong, ReadOnlyMemory<byte>, string?>? inspect) =>
        (SHA256.HashData(data.Span), inspect?.Invoke(index, offset, data));

    private async Task<string?> SettleOldestAsync(bool skip = false)
    {
        var p = _pending.Dequeue();
        if (p.Hash is null)
        {
            return skip ? null : _verifier.CheckDigest(p.Claimed);
        }

        (byte[] Sha, string? Problem) result;
        try
        {
            result = await p.Hash.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (skip)
        {
            return null;
        }

        if (skip)
        {
            return null;
        }

        return result.Problem
            ?? _verifier.CheckHashed(result.Sha, p.Claimed, p.TensorIndex, p.Offset)
            ?? _accept?.Invoke(p.TensorIndex, p.Offset, p.Data);
    }

    private sealed record Pending(Task<(byte[] Sha, string? Problem)>? Hash, byte[] Claimed, uint TensorIndex, ulong Offset, Memory<byte> Data);
}
