using System.Security.Cryptography;
using Federate.Protocol.Fleet.V1;

namespace Federate.Protocol;

/// <summary>
/// Checks incoming chunks against a list of tensor layouts: tensors in order, chunks in order without gaps or
/// overlap, whole elements, at most the agreed chunk size, each chunk's SHA-256, then each tensor's digest.
/// Problems come back as one-line strings (the caller turns them into a gRPC status).
/// </summary>
/// <remarks>
/// The checks come in two stages that a receiver may run on different threads, each stage in frame order:
/// <see cref="Admit"/> and <see cref="AdmitDigest"/> check a frame's place and size before its bytes are read (so a
/// receiver can read them straight into the tensor), <see cref="Check(ReadOnlySpan{byte}, ReadOnlySpan{byte}, uint, ulong)"/>
/// and <see cref="CheckDigest"/> check the hashes once the bytes are there. <see cref="Verify(TensorChunk)"/> and
/// <see cref="Verify(TensorDigest)"/> run both stages at once.
/// </remarks>
public sealed class ChunkVerifier : IDisposable
{
    private readonly long[] _byteLengths;
    private readonly int[] _elementSizes;
    private readonly int _maxChunk;
    private readonly IncrementalHash _tensorHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _digest = new byte[FleetProtocol.DigestLength];
    private int _current;
    private long _received;
    private int _hashed;

    /// <summary>Creates a verifier for tensors of the given byte lengths and element sizes.</summary>
    public ChunkVerifier(IReadOnlyList<(long ByteLength, int ElementSize)> tensors, int maxChunkSize)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _byteLengths = [.. tensors.Select(t => t.ByteLength)];
        _elementSizes = [.. tensors.Select(t => t.ElementSize)];
        _maxChunk = maxChunkSize;
    }

    /// <summary>True when every tensor arrived and was verified.</summary>
    public bool IsComplete => _hashed >= _byteLengths.Length && _current >= _byteLengths.Length;

    /// <summary>True when every frame was admitted (the hashes of the last ones may still be unchecked).</summary>
    public bool IsAdmitted => _current >= _byteLengths.Length;

    /// <summary>Index of the tensor expected next.</summary>
    public int CurrentTensor => _current;

    /// <summary>Bytes of the current tensor admitted so far: where its next chunk starts.</summary>
    public long CurrentOffset => _received;

    /// <summary>Checks one chunk (place, size and SHA-256); returns null when it is good, else a one-line problem.</summary>
    public string? Verify(TensorChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return Admit(chunk.TensorIndex, chunk.Offset, chunk.Data.Length) ?? Check(chunk.Data.Span, chunk.Sha256.Span, chunk.TensorIndex, chunk.Offset);
    }

    /// <summary>
    /// Stage one for a chunk: checks that a chunk of <paramref name="length"/> bytes at <paramref name="offset"/> of
    /// tensor <paramref name="tensorIndex"/> comes next and fits; returns null and moves on, or a one-line problem.
    /// </summary>
    public string? Admit(uint tensorIndex, ulong offset, int length)
    {
        if (IsAdmitted)
        {
            return $"unexpected chunk for tensor {tensorIndex}: all {_byteLengths.Length} tensors are complete";
        }

        if (tensorIndex != _current)
        {
            return $"chunk for tensor {tensorIndex} arrived while tensor {_current} is incomplete";
        }

        if ((long)offset != _received)
        {
            return $"chunk of tensor {_current} at byte offset {offset}, expected {_received}";
        }

        if (length <= 0 || length > _maxChunk)
        {
            return $"chunk of tensor {_current} has {length} bytes; chunks must hold 1 to {_maxChunk} bytes";
        }

        if (_received + length > _byteLengths[_current])
        {
            return $"chunk of tensor {_current} runs past its end ({_received + length} > {_byteLengths[_current]} bytes)";
        }

        if (length % _elementSizes[_current] != 0)
        {
            return $"chunk of tensor {_current} has {length} bytes, not a whole number of {_elementSizes[_current]}-byte elements";
        }

        _received += length;
        return null;
    }

    /// <summary>Takes back the last <see cref="Admit"/> of <paramref name="length"/> bytes (its bytes never arrived).</summary>
    public void Unadmit(int length) => _received = Math.Max(0, _received - length);

    /// <summary>Stage two for a chunk admitted before: hashes its bytes and compares with the sender's SHA-256.</summary>
    public string? Check(ReadOnlySpan<byte> data, ReadOnlySpan<byte> sha256, uint tensorIndex, ulong offset)
    {
        if (!SHA256.TryHashData(data, _digest, out _))
        {
            return $"SHA-256 mismatch in chunk of tensor {tensorIndex} at byte offset {offset}";
        }

        return CheckHashed(_digest, sha256, tensorIndex, offset);
    }

    /// <summary>Stage two with the chunk's SHA-256 already computed (on another thread, say): compares and chains it.</summary>
    public string? CheckHashed(ReadOnlySpan<byte> computed, ReadOnlySpan<byte> sha256, uint tensorIndex, ulong offset)
    {
        if (sha256.Length != FleetProtocol.DigestLength || !sha256.SequenceEqual(computed))
        {
            return $"SHA-256 mismatch in chunk of tensor {tensorIndex} at byte offset {offset}";
        }

        _tensorHash.AppendData(computed);
        return null;
    }

    /// <summary>Checks a tensor digest frame (both stages); returns null when good, else a one-line problem.</summary>
    public string? Verify(TensorDigest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        return AdmitDigest(digest.TensorIndex) ?? CheckDigest(digest.Sha256.Span);
    }

    /// <summary>Stage one for a tensor digest frame: the current tensor must be complete.</summary>
    public string? AdmitDigest(uint tensorIndex)
    {
        if (IsAdmitted || tensorIndex != _current)
        {
            return $"unexpected digest for tensor {tensorIndex}";
        }

        if (_received != _byteLengths[_current])
        {
            return $"digest for tensor {_current} after {_received} of {_byteLengths[_current]} bytes";
        }

        _current++;
        _received = 0;
        return null;
    }

    /// <summary>Stage two for a tensor digest: compares it with the chain of the tensor's chunk digests.</summary>
    public string? CheckDigest(ReadOnlySpan<byte> sha256)
    {
        int tensor = _hashed;
        var expected = _tensorHash.GetHashAndReset();
        if (!sha256.SequenceEqual(expected))
        {
            return $"SHA-256 mismatch for tensor {tensor}";
        }

        _hashed++;
        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _tensorHash.Dispose();
}
