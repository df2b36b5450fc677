namespace Federate.Server.Internal;

/// <summary>
/// Temporary spool files kept open between updates (at most <c>capacity</c> idle), so that each round's uploads
/// rewrite pages already in the page cache instead of filling new files. On Unix a file is unlinked as soon as it
/// is open, so nothing is left on disk after the process ends, even by <c>kill -9</c>; elsewhere it is deleted on
/// close. Updates of at most <see cref="InMemoryMaxBytes"/> are spooled in memory instead, while the small updates
/// spooled at once hold at most <see cref="InMemoryBudgetBytes"/>: with many clients and a small model, opening and
/// unlinking a file for every update cost more server CPU than the rest of receiving it.
/// </summary>
internal sealed class SpoolPool(Func<string> directory, int capacity) : IDisposable
{
    private readonly Stack<FileStream> _idle = new();
    private readonly Lock _lock = new();
    private bool _disposed;
    private long _inMemory;

    /// <summary>Largest update spooled in memory: 1 MiB of tensor bytes.</summary>
    public const long InMemoryMaxBytes = 1L << 20;

    /// <summary>Most bytes spooled in memory at once (64 MiB); further small updates go to files.</summary>
    public const long InMemoryBudgetBytes = 64L << 20;

    /// <summary>Bytes held by in-memory spools now.</summary>
    public long InMemoryBytes => Interlocked.Read(ref _inMemory);

    /// <summary>Opens a new temporary spool file in <paramref name="directory"/>.</summary>
    public static FileStream Open(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"federate-update-{Guid.NewGuid():N}.spool");
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose | FileOptions.SequentialScan);
        }

        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.SequentialScan);
        File.Delete(path);
        return stream;
    }

    /// <summary>A spool for an update of <paramref name="bytes"/> tensor bytes: in memory when small and within the budget, else a file.</summary>
    public SpoolFile Rent(long bytes)
    {
        if (bytes <= InMemoryMaxBytes)
        {
            if (Interlocked.Add(ref _inMemory, bytes) <= InMemoryBudgetBytes)
            {
                return new SpoolFile(bytes, this);
            }

            Interlocked.Add(ref _inMemory, -bytes);
        }

        return Rent();
    }

    /// <summary>A spool file, reused when one is idle.</summary>
    public SpoolFile Rent()
    {
        FileStream? stream = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _idle.TryPop(out stream);
        }

        return new SpoolFile(stream ?? Open(directory()), this);
    }

    /// <summary>Keeps <paramref name="stream"/> for reuse; false when the pool is full or closed (the caller closes it).</summary>
    public bool Return(FileStream stream)
    {
        lock (_lock)
        {
            if (_disposed || _idle.Count >= capacity)
            {
                return false;
            }

            _idle.Push(stream);
            return true;
        }
    }

    /// <summary>An in-memory spool of <paramref name="bytes"/> was disposed.</summary>
    public void ReturnMemory(long bytes) => Interlocked.Add(ref _inMemory, -bytes);

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            while (_idle.TryPop(out var stream))
            {
                stream.Dispose();
            }
        }
    }
}
