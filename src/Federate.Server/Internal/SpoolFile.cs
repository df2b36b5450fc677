namespace Federate.Server.Internal;

/// <summary>
/// One update's tensor bytes in order, in a temporary file rented from a <see cref="SpoolPool"/>, or in memory for a
/// small update. Disposing hands the file back to the pool, which reuses it for a later update: rewriting pages
/// already in the page cache costs a copy, while a fresh file's pages cost the kernel (and a virtual machine's host)
/// an allocation and a fault each, which made the spool most of the server's CPU per uploaded byte.
/// </summary>
internal sealed class SpoolFile : IDisposable
{
    private readonly SpoolPool? _pool;
    private readonly long _memoryBytes;
    private Stream? _stream;
    private long _length;

    internal SpoolFile(FileStream stream, SpoolPool? pool)
    {
        _stream = stream;
        _pool = pool;
        stream.Position = 0;
    }

    /// <summary>A spool in memory for an update of <paramref name="bytes"/> bytes, counted by <paramref name="pool"/> until disposed.</summary>
    internal SpoolFile(long bytes, SpoolPool pool)
    {
        _stream = new MemoryStream((int)bytes);
        _pool = pool;
        _memoryBytes = bytes;
    }

    /// <summary>True when the bytes are held in memory rather than in a file.</summary>
    public bool InMemory => _stream is MemoryStream;

    /// <summary>The bytes written to this spool (a reused file may be longer).</summary>
    public long Length => _length;

    private Stream Stream => _stream ?? throw new ObjectDisposedException(nameof(SpoolFile));

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
        switch (Interlocked.Exchange(ref _stream, null))
        {
            case MemoryStream memory:
                _pool!.ReturnMemory(_memoryBytes);
                memory.Dispose();
                break;
            case FileStream file when _pool is null || !_pool.Return(file):
                file.Dispose();
                break;
        }
    }
}
