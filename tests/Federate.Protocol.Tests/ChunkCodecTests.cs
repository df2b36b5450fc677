using System.Security.Cryptography;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Google.Protobuf;

namespace Federate.Protocol.Tests;

public sealed class ChunkCodecTests
{
    private static Tensor Ramp(int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++)
        {
            data[i] = i * 0.5f;
        }

        return Tensor.FromArray(data, n);
    }

    [Fact]
    public void Split_ThenVerifyAndReassemble_ReproducesTensorExactly()
    {
        var tensor = Ramp(10_000); // 40,000 bytes
        var frames = TensorChunks.Split(tensor, 0, 4096).ToList();
        Assert.Equal(10 + 1, frames.Count); // 9 full chunks + 1 partial, then the digest
        Assert.All(frames.Take(10), f => Assert.True(f.Chunk!.Data.Length <= 4096));

        using var verifier = new ChunkVerifier([(tensor.ByteLength, 4)], FleetProtocol.MaxChunkSize);
        var copy = Tensor.Zeros(DType.Float32, 10_000);
        foreach (var (chunk, digest) in frames)
        {
            if (chunk is not null)
            {
                Assert.Null(verifier.Verify(chunk));
                chunk.Data.Span.CopyTo(copy.AsBytes()[(int)chunk.Offset..]);
            }
            else
            {
                Assert.Null(verifier.Verify(digest!));
            }
        }

        Assert.True(verifier.IsComplete);
        Assert.True(tensor.AsBytes().SequenceEqual(copy.AsBytes()));
    }

    [Fact]
    public void Split_ChunkBytes_AreAViewOfTheTensorNotACopy()
    {
        var tensor = Ramp(1024);
        var first = TensorChunks.Split(tensor, 0, 1 << 20).First().Chunk!;
        tensor.AsSpan<float>()[0] = 42f;
        Assert.Equal(42f, BitConverter.ToSingle(first.Data.Span));
    }

    [Fact]
    public void Split_ChunkSizeNotAMultipleOfElement_RoundsDownToWholeElements()
    {
        var frames = TensorChunks.Split(Ramp(100), 0, 10).Where(f => f.Chunk is not null).ToList();
        Assert.All(frames, f => Assert.Equal(8, f.Chunk!.Data.Length));
    }

    [Fact]
    public void Verify_EmptyTensor_NeedsOnlyItsDigest()
    {
        var empty = Tensor.Zeros(DType.Float32, 0);
        var frames = TensorChunks.Split(empty, 0, 1024).ToList();
        using var verifier = new ChunkVerifier([(0, 4)], 1024);
        Assert.Single(frames);
        Assert.Null(verifier.Verify(frames[0].Digest!));
        Assert.True(verifier.IsComplete);
    }

    [Fact]
    public void Verify_HostileChunks_RefusedWithOneLineReason()
    {
        var tensor = Ramp(2048);
        var chunks = TensorChunks.Split(tensor, 0, 1024).Where(f => f.Chunk is not null).Select(f => f.Chunk!).ToList();

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4)], 1024))
        {
            Assert.Contains("offset 1024, expected 0", v.Verify(chunks[1]), StringComparison.Ordinal);
        }

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4)], 1024))
        {
            var bad = chunks[0].Clone();
            bad.Sha256 = ByteString.CopyFrom(SHA256.HashData([1]));
            Assert.Contains("SHA-256 mismatch", v.Verify(bad), StringComparison.Ordinal);
        }

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4)], 512))
        {
            Assert.Contains("chunks must hold 1 to 512 bytes", v.Verify(chunks[0]), StringComparison.Ordinal);
        }

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4), (8, 4)], 1024))
        {
            var wrongTensor = chunks[0].Clone();
            wrongTensor.TensorIndex = 1;
            Assert.Contains("tensor 0 is incomplete", v.Verify(wrongTensor), StringComparison.Ordinal);
        }

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4)], 1024))
        {
            var partial = new TensorChunk { TensorIndex = 0, Offset = 0, Data = ByteString.CopyFrom(new byte[3]), Sha256 = ByteString.CopyFrom(SHA256.HashData(new byte[3])) };
            Assert.Contains("whole number of 4-byte elements", v.Verify(partial), StringComparison.Ordinal);
        }

        using (var v = new ChunkVerifier([(tensor.ByteLength, 4)], 1024))
        {
            Assert.Null(v.Verify(chunks[0]));
            Assert.Contains("after 1024 of 8192 bytes", v.Verify(new TensorDigest { TensorIndex = 0, Sha256 = ByteString.CopyFrom(new byte[32]) }), StringComparison.Ordinal);
        }
    }
}
