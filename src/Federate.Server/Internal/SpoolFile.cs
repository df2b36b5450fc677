namespace Federate.Server.Internal;

/// <summary>
/// One update's tensor bytes in order, in a temporary file rented from a <see cref="SpoolPool"/>. Disposing hands the file back to the pool, which reuses it for a later update: rewriting pages
/// already in the page cache costs a copy, while a fresh file's pages cost the kernel (and a virtual machine's host)
/// an allocation and a fault each, which made the spool most of the server's CPU per uploaded byte.
/// </summary>
internal sealed class SpoolFile : IDisposable
{
    private readonly SpoolPool? _pool;
    private FileStream? _stream;
    private long _length;

    internal SpoolFile(FileStream stream, SpoolPool? pool)
    {
        _stream = stream;
        _pool = pool;
        stream.Position = 0;
    }

    /// <summary>The bytes written to this spool (a reused file may be longer).</summary>
    public long Length => _length;

    private FileStream Stream => _stream ?? throw new ObjectDisposedException(nameof(SpoolFile));

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Stream.Write(bytes);
        _length += bytes.Length;
    }

    public void Rewind()
    {
        Stream.Flush();
        Stream.Position = 0;
    }

    /// <summary>Reads the next bytes written; never past <see cref="Length"/> (a reused file holds older bytes beyond).</summary>
    public void ReadExactly(Span<byte> buffer)
    {
        if (Stream.Position + buffer.Length > _length)
        {
            throw new EndOfStreamException($"the spool holds {_length} bytes; reading {buffer.Length} at {Stream.Position} goes past them.");
        }

        Stream.ReadExactly(buffer);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stream, null) is { } stream && (_pool is null || !_pool.Return(stream)))
        {
            stream.Dispose();
        }
    }
}
