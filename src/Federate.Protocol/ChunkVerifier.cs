using System.Security.Cryptography;
using Federate.Protocol.Fleet.V1;

namespace Federate.Protocol;

/// <summary>
/// Checks incoming chunks against a list of tensor layouts: tensors in order, chunks in order without gaps or
/// overlap, whole elements, at most the agreed chunk size, each chunk's SHA-256, then each tensor's digest.
/// Problems come back as one-line strings (the caller turns them into a gRPC status).
/// </summary>
public sealed class ChunkVerifier : IDisposable
{
    private readonly long[] _byteLengths;
    private readonly int[] _elementSizes;
    private readonly int _maxChunk;
    private readonly IncrementalHash _tensorHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _digest = new byte[FleetProtocol.DigestLength];
    private int _current;
    private long _received;

    /// <summary>Creates a verifier for tensors of the given byte lengths and element sizes.</summary>
    public ChunkVerifier(IReadOnlyList<(long ByteLength, int ElementSize)> tensors, int maxChunkSize)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _byteLengths = [.. tensors.Select(t => t.ByteLength)];
        _elementSizes = [.. tensors.Select(t => t.ElementSize)];
        _maxChunk = maxChunkSize;
    }

    /// <summary>True when every tensor arrived and was verified.</summary>
    public bool IsComplete => _current >= _byteLengths.Length;

    /// <summary>Index of the tensor expected next.</summary>
    public int CurrentTensor => _current;

    /// <summary>Checks one chunk; returns null when it is good, else a one-line problem.</summary>
    public string? Verify(TensorChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (IsComplete)
        {
            return $"unexpected chunk for tensor {chunk.TensorIndex}: all {_byteLengths.Length} tensors are complete";
        }

        if (chunk.TensorIndex != _current)
        {
            return $"chunk for tensor {chunk.TensorIndex} arrived while tensor {_current} is incomplete";
        }

        if ((long)chunk.Offset != _received)
        {
            return $"chunk of tensor {_current} at byte offset {chunk.Offset}, expected {_received}";
        }

        int n = chunk.Data.Length;
        if (n == 0 || n > _maxChunk)
        {
            return $"chunk of tensor {_current} has {n} bytes; chunks must hold 1 to {_maxChunk} bytes";
        }

        if (_received + n > _byteLengths[_current])
        {
            return $"chunk of tensor {_current} runs past its end ({_received + n} > {_byteLengths[_current]} bytes)";
        }

        if (n % _elementSizes[_current] != 0)
        {
            return $"chunk of tensor {_current} has {n} bytes, not a whole number of {_elementSizes[_current]}-byte elements";
        }

        if (chunk.Sha256.Length != FleetProtocol.DigestLength || !SHA256.TryHashData(chunk.Data.Span, _digest, out _) || !chunk.Sha256.Span.SequenceEqual(_digest))
        {
            return $"SHA-256 mismatch in chunk of tensor {_current} at byte offset {chunk.Offset}";
        }

        _tensorHash.AppendData(_digest);
        _received += n;
        return null;
    }

    /// <summary>Checks a tensor digest frame; returns null when good, else a one-line problem.</summary>
    public string? Verify(TensorDigest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        if (IsComplete || digest.TensorIndex != _current)
        {
            return $"unexpected digest for tensor {digest.TensorIndex}";
        }

        if (_received != _byteLengths[_current])
        {
            return $"digest for tensor {_current} after {_received} of {_byteLengths[_current]} bytes";
        }

        var expected = _tensorHash.GetHashAndReset();
        if (!digest.Sha256.Span.SequenceEqual(expected))
        {
            return $"SHA-256 mismatch for tensor {_current}";
        }

        _current++;
        _received = 0;
        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _tensorHash.Dispose();
}
