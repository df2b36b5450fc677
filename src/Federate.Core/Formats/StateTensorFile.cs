using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Federate.Core.Formats;

/// <summary>
/// A checkpoint's strategy state tensors in the safetensors format (any safetensors reader opens it), written and
/// read block by block: <see cref="Write"/> streams each <see cref="StateTensor"/> to disk, <see cref="Open"/> indexes
/// the header and hands out streams over single tensors. <see cref="Scope"/> gives a wrapped strategy the view of its
/// inner strategy's tensors (names prefixed).
/// </summary>
public sealed class StateTensorFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly Dictionary<string, (DType DType, long[] Shape, long Begin, long End)> _entries;
    private readonly long _dataStart;
    private readonly string _prefix;
    private readonly bool _owner;

    private StateTensorFile(FileStream stream, Dictionary<string, (DType, long[], long, long)> entries, long dataStart, string prefix, bool owner)
    {
        _stream = stream;
        _entries = entries;
        _dataStart = dataStart;
        _prefix = prefix;
        _owner = owner;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (temporary file, flush, rename) and returns
    /// the file's SHA-256 (lowercase hex) and length.
    /// </summary>
    public static (string Sha256, long Bytes) Write(string path, IReadOnlyList<StateTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = BuildHeader(tensors, metadata);
        var full = Path.GetFullPath(path);
        var tmp = full + ".tmp-" + Environment.ProcessId;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bytes;
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            using var hashing = new Safetensors.HashingWriteStream(fs, sha);
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            hashing.Write(len);
            hashing.Write(header);
            foreach (var t in tensors)
            {
                long before = hashing.Written;
                t.WriteData(hashing);
                if (hashing.Written - before != t.ByteLength)
                {
                    throw new InvalidOperationException($"state tensor '{t.Name}' wrote {hashing.Written - before} bytes, expected {t.ByteLength}");
                }
            }

            bytes = hashing.Written;
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, full, overwrite: true);
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), bytes);
    }

    /// <summary>Opens a state file; <see cref="InvalidDataException"/> with a one-line reason when it is malformed.</summary>
    public static StateTensorFile Open(string path)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var header = SafetensorsHeader.Read(fs);
            var entries = new Dictionary<string, (DType, long[], long, long)>(StringComparer.Ordinal);
            long dataStart = header.DataStart;
            foreach (var e in header.Entries)
            {
                if (dataStart + e.End > fs.Length)
                {
                    throw new InvalidDataException($"state tensor '{e.Name}' lies past the end of the file (truncated)");
                }

                entries[e.Name] = (e.DType, e.Shape, e.Begin, e.End);
            }

            return new StateTensorFile(fs, entries, dataStart, "", owner: true);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>A view of the tensors whose names start with <paramref name="prefix"/>, named without it.</summary>
    public StateTensorFile Scope(string prefix) => new(_stream, _entries, _dataStart, _prefix + prefix, owner: false);

    /// <summary>
    /// Finds tensor <paramref name="name"/>; when present gives its dtype, shape and a stream positioned at its data
    /// (read exactly its byte length from it before opening the next tensor).
    /// </summary>
    public bool TryOpen(string name, out DType dtype, out long[] shape, out Stream data)
    {
        if (_entries.TryGetValue(_prefix + name, out var e))
        {
            dtype = e.DType;
            shape = e.Shape;
            _stream.Position = _dataStart + e.Begin;
            data = _stream;
            return true;
        }

        dtype = default;
        shape = [];
        data = Stream.Null;
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_owner)
        {
            _stream.Dispose();
        }
    }

    private static byte[] BuildHeader(IReadOnlyList<StateTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
        => Safetensors.BuildHeader(tensors.Select(t => (t.Name, t.DType, (IReadOnlyList<long>)t.Shape, t.ByteLength)), metadata);
}
