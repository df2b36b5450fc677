using System.Buffers.Binary;
using System.Security.Cryptography;

using System.Text.Json;

namespace Federate.Core.Formats;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype, shape and data offsets (plus optional string metadata under "__metadata__"), then the raw
/// little-endian data. Tensors are written in record order, so the same record always gives the same bytes.
/// </summary>
public static class Safetensors
{

    /// <summary>Writes a record to a stream.</summary>
    public static void Write(Stream stream, ArrayRecord record, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = BuildHeader(record, metadata);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);
        foreach (var (_, tensor) in record)
        {
            WriteTensorData(stream, tensor);
        }
    }

    /// <summary>Writes a record to a file atomically: a temporary file is written, flushed to disk, then renamed.</summary>
    public static void WriteFile(string path, ArrayRecord record, IReadOnlyDictionary<string, string>? metadata = null) =>
        WriteAtomically(path, fs => Write(fs, record, metadata));

    /// <summary>
    /// Writes a file like <see cref="WriteFile"/> and returns its SHA-256 (lowercase hex) and length, hashed as the bytes
    /// are written (no second pass over the file).
    /// </summary>
    public static (string Sha256, long Bytes) WriteFileWithSha256(string path, ArrayRecord record, IReadOnlyDictionary<string, string>? metadata = null) =>
        WriteFileWithSha256(path, record, metadata, reuse: null);

    /// <summary>
    /// Writes a file like <see cref="WriteFileWithSha256(string, ArrayRecord, IReadOnlyDictionary{string, string}?)"/>,
    /// rewriting <paramref name="reuse"/> in place when that file exists (a file no longer needed, such as a pruned
    /// checkpoint: its pages are already allocated, so the write costs a copy instead of new pages). The reused file
    /// is moved to the temporary name first and ends as <paramref name="path"/>; it no longer exists afterwards.
    /// </summary>
    public static (string Sha256, long Bytes) WriteFileWithSha256(string path, ArrayRecord record, IReadOnlyDictionary<string, string>? metadata, string? reuse)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bytes = 0;
        WriteAtomically(path, fs =>
        {
            using var hashing = new HashingWriteStream(fs, sha);
            Write(hashing, record, metadata);
            bytes = hashing.Written;
        }, reuse);
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), bytes);
    }

    private static void WriteAtomically(string path, Action<Stream> write, string? reuse = null)
    {
        var full = Path.GetFullPath(path);
        var tmp = full + ".tmp-" + Environment.ProcessId;
        bool reused = false;
        if (reuse is not null && File.Exists(reuse))
        {
            File.Move(reuse, tmp, overwrite: true);
            reused = true;
        }

        using (var fs = new FileStream(tmp, reused ? FileMode.Open : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            write(fs);
            if (reused)
            {
                fs.SetLength(fs.Position);
            }

            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Reads a file written in the safetensors format.</summary>
    public static ArrayRecord ReadFile(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(fs, out metadata);
    }

    /// <summary>Reads a record from a stream; throws <see cref="InvalidDataException"/> with a clear message on malformed input.</summary>
    public static ArrayRecord Read(Stream stream, out IReadOnlyDictionary<string, string> metadata)
    {
        var header = SafetensorsHeader.Read(stream);
        var entries = header.Entries;
        var meta = header.Metadata;

        // Data is laid out by offset; read sequentially in that order, keep the header's order in the record.
        var byOffset = entries.OrderBy(e => e.Begin).ToList();
        long position = 0;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var e in byOffset)
        {
            if (e.Begin != position)
            {
                throw new InvalidDataException($"Tensor '{e.Name}' data does not follow the previous tensor (offset {e.Begin}, expected {position}).");
            }

            var tensor = Tensor.Zeros(e.DType, e.Shape);
            var bytes = tensor.AsBytes();
            try
            {
                stream.ReadExactly(bytes);
            }
            catch (EndOfStreamException ex)
            {
                throw new InvalidDataException($"The file is truncated: tensor '{e.Name}' is incomplete.", ex);
            }

            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
            }

            tensors[e.Name] = tensor;
            position = e.End;
        }

        metadata = meta;
        return new ArrayRecord(entries.Select(e => new KeyValuePair<string, Tensor>(e.Name, tensors[e.Name])));
    }

    private static byte[] BuildHeader(ArrayRecord record, IReadOnlyDictionary<string, string>? metadata)
        => BuildHeader(record.Select(kv => (kv.Key, kv.Value.DType, kv.Value.Shape, kv.Value.ByteLength)), metadata);

    /// <summary>
    /// The header of a safetensors file holding <paramref name="tensors"/> in order (name, dtype, shape, byte length),
    /// with the metadata sorted by key, padded with spaces so the data starts 8-byte aligned.
    /// </summary>
    internal static byte[] BuildHeader(IEnumerable<(string Name, DType DType, IReadOnlyList<long> Shape, long ByteLength)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }

                w.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, dtype, shape, byteLength) in tensors)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype.ToSafetensorsName());
                w.WriteStartArray("shape");
                foreach (var d in shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += byteLength;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
        int pad = (int)((8 - (ms.Length % 8)) % 8);
        for (int i = 0; i < pad; i++)
        {
            ms.WriteByte((byte)' ');
        }

        return ms.ToArray();
    }

    private static void WriteTensorData(Stream stream, Tensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
        }

        stream.Write(tensor.AsBytes());
    }

    /// <summary>A write-only pass-through that feeds every byte written to a hash (spans go through without copies).</summary>
    internal sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
            Written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
