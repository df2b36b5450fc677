using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Federate.Core;
using Federate.Protocol.Fleet.V1;

namespace Federate.Protocol.Tests;

/// <summary>The bulk transfer framing: chunks read straight into tensors, hashes checked off the read path, resume.</summary>
public sealed class BulkFramesTests
{
    private const int Chunk = 4096;

    private static Tensor Ramp(int n, float scale = 0.25f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++)
        {
            data[i] = i * scale;
        }

        return Tensor.FromArray(data, n);
    }

    private static async Task<byte[]> WriteAsync(IReadOnlyList<Tensor> tensors, int fromTensor = 0, long fromOffset = 0, ChunkSealer? seal = null)
    {
        using var stream = new MemoryStream();
        await BulkFrames.WriteTensorsAsync(stream, tensors, Chunk, fromTensor, fromOffset, Wrap, null, seal, null, CancellationToken.None);
        return stream.ToArray();
    }

    private static Google.Protobuf.IMessage Wrap(TensorChunk? chunk, TensorDigest? digest) =>
        chunk is not null ? new TaskFrame { Chunk = chunk } : new TaskFrame { Digest = digest };

    private static async ValueTask<(TensorChunk? Chunk, TensorDigest? Digest)?> NextAsync(Stream stream, CancellationToken cancellationToken)
    {
        var frame = await BulkFrames.ReadAsync(stream, TaskFrame.Parser, cancellationToken);
        return frame is null ? null : (frame.Chunk, frame.Digest);
    }

    private static (ChunkVerifier Verifier, ChunkStreamReader Reader, Tensor[] Into) Receiver(IReadOnlyList<Tensor> like, ChunkOpener? open = null)
    {
        var into = like.Select(t => Tensor.Zeros(t.DType, [.. t.Shape])).ToArray();
        var verifier = new ChunkVerifier([.. into.Select(t => (t.ByteLength, t.DType.SizeOf()))], Chunk);
        var reader = new ChunkStreamReader(verifier, (i, offset, length) => MemoryMarshal.AsMemory(TensorChunks.AsMemory(into[i]).Slice((int)offset, length)), open);
        return (verifier, reader, into);
    }

    [Fact]
    public async Task WriteThenRead_TwoTensorsOfManyChunks_ReproducedExactlyAndVerified()
    {
        Tensor[] tensors = [Ramp(10_000), Ramp(3, 2f)];
        var bytes = await WriteAsync(tensors);
        var (verifier, reader, into) = Receiver(tensors);

        Assert.Null(await reader.ReadAsync(new MemoryStream(bytes), NextAsync, CancellationToken.None));
        Assert.True(verifier.IsComplete);
        Assert.Equal(40_012, reader.BytesRead);
        Assert.True(tensors[0].AsBytes().SequenceEqual(into[0].AsBytes()));
        Assert.True(tensors[1].AsBytes().SequenceEqual(into[1].AsBytes()));
    }

    [Fact]
    public async Task Read_OneFlippedByteInTheThirdChunk_RefusedNamingTheChunk()
    {
        Tensor[] tensors = [Ramp(10_000)];
        var bytes = await WriteAsync(tensors);
        int third = IndexOfChunkData(bytes, 2);
        bytes[third + 17] ^= 0x01;
        var (verifier, reader, _) = Receiver(tensors);

        var problem = await reader.ReadAsync(new MemoryStream(bytes), NextAsync, CancellationToken.None);
        Assert.Equal("SHA-256 mismatch in chunk of tensor 0 at byte offset 8192", problem);
        Assert.False(verifier.IsComplete);
    }

    [Fact]
    public async Task Read_ChunkLongerThanTheLimit_RefusedBeforeItsBytesAreRead()
    {
        var frame = new TaskFrame { Chunk = new TensorChunk { TensorIndex = 0, Offset = 0, DataLength = Chunk + 4, Sha256 = Google.Protobuf.ByteString.CopyFrom(new byte[32]) } };
        using var stream = new MemoryStream();
        await BulkFrames.WriteAsync(stream, frame, default, CancellationToken.None);
        stream.Position = 0;
        var (_, reader, _) = Receiver([Ramp(10_000)]);

        Assert.Equal($"chunk of tensor 0 has {Chunk + 4} bytes; chunks must hold 1 to {Chunk} bytes", await reader.ReadAsync(stream, NextAsync, CancellationToken.None));
        Assert.Equal(0, reader.BytesRead);
    }

    [Fact]
    public async Task Read_FrameLengthBeyondTheLimit_InvalidDataWithOneLine()
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, BulkFrames.MaxFrameLength + 1);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () => await BulkFrames.ReadAsync(new MemoryStream(bytes), TaskFrame.Parser, CancellationToken.None));
        Assert.Equal($"a frame of {BulkFrames.MaxFrameLength + 1} bytes; frames hold at most {BulkFrames.MaxFrameLength} bytes", ex.Message);
    }

    [Fact]
    public async Task Read_StreamBrokenInsideAChunk_ResumesFromItsStartAndCompletes()
    {
        Tensor[] tensors = [Ramp(10_000), Ramp(2_000, 3f)];
        var whole = await WriteAsync(tensors);
        var (verifier, reader, into) = Receiver(tensors);

        // The connection breaks 100 bytes into the data of chunk 4 (byte offset 16384 of tensor 0).
        int cut = IndexOfChunkData(whole, 4) + 100;
        await Assert.ThrowsAsync<IOException>(() => reader.ReadAsync(new BrokenStream(whole, cut), NextAsync, CancellationToken.None));
        Assert.Equal((0, 16_384L), (verifier.CurrentTensor, verifier.CurrentOffset));

        // The sender starts again at that chunk boundary; the same reader finishes and every hash holds.
        var rest = await WriteAsync(tensors, verifier.CurrentTensor, verifier.CurrentOffset);
        Assert.True(rest.Length < whole.Length - 16_384);
        Assert.Null(await reader.ReadAsync(new MemoryStream(rest), NextAsync, CancellationToken.None));
        Assert.True(verifier.IsComplete);
        Assert.True(tensors[0].AsBytes().SequenceEqual(into[0].AsBytes()));
        Assert.True(tensors[1].AsBytes().SequenceEqual(into[1].AsBytes()));
    }

    [Fact]
    public async Task Read_ResumedFromAnotherTensorsBytes_RefusedByTheTensorDigest()
    {
        Tensor[] tensors = [Ramp(10_000)];
        var whole = await WriteAsync(tensors);
        var (verifier, reader, _) = Receiver(tensors);
        await Assert.ThrowsAsync<IOException>(() => reader.ReadAsync(new BrokenStream(whole, IndexOfChunkData(whole, 4) + 100), NextAsync, CancellationToken.None));

        // A resumed stream from a different model (each chunk consistent with its own hash): the tensor digest binds
        // the whole tensor, so the mix is refused.
        var other = await WriteAsync([Ramp(10_000, 0.5f)], verifier.CurrentTensor, verifier.CurrentOffset);
        Assert.Equal("SHA-256 mismatch for tensor 0", await reader.ReadAsync(new MemoryStream(other), NextAsync, CancellationToken.None));
    }

    [Fact]
    public async Task Sealed_ChunksTravelAsCiphertext_AndATamperedOneIsRefused()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        Tensor[] tensors = [Ramp(5_000)];
        var bytes = await WriteAsync(tensors, seal: (data, index, offset) =>
        {
            using var aes = new AesGcm(key, 16);
            var nonce = RandomNumberGenerator.GetBytes(12);
            var tag = new byte[16];
            var ciphertext = new byte[data.Length];
            aes.Encrypt(nonce, data.Span, ciphertext, tag, Aad(index, offset));
            return (ciphertext, nonce, tag);
        });
        Assert.Equal(-1, bytes.AsSpan().IndexOf(tensors[0].AsBytes()[4096..4196]));
        string? Open(Span<byte> data, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag, uint index, ulong offset)
        {
            using var aes = new AesGcm(key, 16);
            try
            {
                aes.Decrypt(nonce, data, tag, data, Aad(index, offset));
                return null;
            }
            catch (AuthenticationTagMismatchException)
            {
                return $"chunk of tensor {index} at byte offset {offset} fails AES-GCM authentication";
            }
        }

        var (verifier, reader, into) = Receiver(tensors, Open);
        Assert.Null(await reader.ReadAsync(new MemoryStream(bytes), NextAsync, CancellationToken.None));
        Assert.True(verifier.IsComplete);
        Assert.True(tensors[0].AsBytes().SequenceEqual(into[0].AsBytes()));

        bytes[IndexOfChunkData(bytes, 1) + 5] ^= 0x80;
        var (_, tampered, _) = Receiver(tensors, Open);
        Assert.Equal("chunk of tensor 0 at byte offset 4096 fails AES-GCM authentication", await tampered.ReadAsync(new MemoryStream(bytes), NextAsync, CancellationToken.None));
    }

    private static byte[] Aad(uint index, ulong offset)
    {
        var aad = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(aad, index);
        BinaryPrimitives.WriteUInt64LittleEndian(aad.AsSpan(4), offset);
        return aad;
    }

    /// <summary>Where the raw data of chunk <paramref name="k"/> (counting chunks of all tensors) starts in a bulk stream.</summary>
    private static int IndexOfChunkData(byte[] stream, int k)
    {
        int at = 0;
        int chunk = 0;
        while (true)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at));
            var frame = TaskFrame.Parser.ParseFrom(stream, at + 4, length);
            at += 4 + length;
            if (frame.Chunk is { } c)
            {
                if (chunk++ == k)
                {
                    return at;
                }

                at += (int)c.DataLength;
            }
        }
    }

    /// <summary>A stream that breaks (IOException) after <paramref name="cut"/> bytes, like a dropped connection.</summary>
    private sealed class BrokenStream(byte[] bytes, int cut) : MemoryStream(bytes, 0, cut)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position >= Length ? throw new IOException("connection reset") : base.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
