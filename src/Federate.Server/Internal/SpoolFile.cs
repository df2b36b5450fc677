namespace Federate.Server.Internal;

/// <summary>A temporary file holding one update's tensor bytes in order; deleted when disposed.</summary>
internal sealed class SpoolFile : IDisposable
{
    private readonly FileStream _stream;

    public SpoolFile(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"federate-update-{Guid.NewGuid():N}.spool");
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose | FileOptions.SequentialScan);
    }

    public long Length => _stream.Length;

    public void Write(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    public void Rewind()
    {
        _stream.Flush();
        _stream.Position = 0;
    }

    public void ReadExactly(Span<byte> buffer) => _stream.ReadExactly(buffer);

    public void Dispose() => _stream.Dispose();
}
