using Federate.Server.Internal;

namespace Federate.Server.Tests;

public sealed class SpoolPoolTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "federate-spool-test-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Rent_AfterReturn_ReusesTheFileAndReadsOnlyTheNewBytes()
    {
        using var pool = new SpoolPool(() => _dir, capacity: 1);
        var first = pool.Rent();
        first.Write(Enumerable.Repeat((byte)7, 1000).ToArray());
        Assert.Equal(1000, first.Length);
        first.Dispose();

        using var second = pool.Rent();
        second.Write([1, 2, 3]);
        Assert.Equal(3, second.Length);
        second.Rewind();
        var read = new byte[3];
        second.ReadExactly(read);
        Assert.Equal([1, 2, 3], read);

        // The reused file still holds the first spool's bytes beyond these three; they are never read.
        var ex = Assert.Throws<EndOfStreamException>(() => second.ReadExactly(new byte[1]));
        Assert.Contains("holds 3 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rent_SmallUpdate_InMemoryWithinTheBudget_LargerOrBeyondTheBudgetInAFile()
    {
        using var pool = new SpoolPool(() => _dir, capacity: 2);
        using (var small = pool.Rent(4000))
        {
            Assert.True(small.InMemory);
            Assert.Equal(4000, pool.InMemoryBytes);
            small.Write([5, 6, 7]);
            small.Rewind();
            var read = new byte[3];
            small.ReadExactly(read);
            Assert.Equal([5, 6, 7], read);
            Assert.Throws<EndOfStreamException>(() => small.ReadExactly(new byte[1]));
        }

        // Disposed: its bytes no longer count, and no file was made for it.
        Assert.Equal(0, pool.InMemoryBytes);
        Assert.False(Directory.Exists(_dir) && Directory.EnumerateFileSystemEntries(_dir).Any());

        using var large = pool.Rent(SpoolPool.InMemoryMaxBytes + 1);
        Assert.False(large.InMemory);

        // 64 updates of 1 MiB fill the budget; the next small one goes to a file until one of them is disposed.
        var held = Enumerable.Range(0, (int)(SpoolPool.InMemoryBudgetBytes / SpoolPool.InMemoryMaxBytes)).Select(_ => pool.Rent(SpoolPool.InMemoryMaxBytes)).ToList();
        Assert.All(held, h => Assert.True(h.InMemory));
        using (var over = pool.Rent(10))
        {
            Assert.False(over.InMemory);
            Assert.Equal(SpoolPool.InMemoryBudgetBytes, pool.InMemoryBytes);
        }

        held[0].Dispose();
        using var fits = pool.Rent(10);
        Assert.True(fits.InMemory);
        held.ForEach(h => h.Dispose());
        fits.Dispose();
        Assert.Equal(0, pool.InMemoryBytes);
    }

    [Fact]
    public void Dispose_Twice_ReturnsOnceAndUseAfterDisposeThrows()
    {
        using var pool = new SpoolPool(() => _dir, capacity: 2);
        var spool = pool.Rent();
        spool.Write([1]);
        spool.Dispose();
        spool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => spool.Write([2]));

        // One idle file: two rents get two different files (the second is new), each empty to its holder.
        using var a = pool.Rent();
        using var b = pool.Rent();
        a.Write([1, 1]);
        b.Write([2]);
        a.Rewind();
        b.Rewind();
        var ra = new byte[2];
        var rb = new byte[1];
        a.ReadExactly(ra);
        b.ReadExactly(rb);
        Assert.Equal([1, 1], ra);
        Assert.Equal([2], rb);
    }

    [Fact]
    public void Rent_OnUnix_LeavesNoFileBehindEvenWhileOpen()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // deleted on close there
        }

        using var pool = new SpoolPool(() => _dir, capacity: 2);
        using var spool = pool.Rent();
        spool.Write(new byte[4096]);

        // Unlinked as soon as opened: a kill -9 now leaves nothing in the spool folder.
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Dispose_Pool_ClosesIdleFilesAndRefusesReturns()
    {
        var pool = new SpoolPool(() => _dir, capacity: 2);
        var spool = pool.Rent();
        pool.Dispose();
        spool.Dispose(); // closed, not pooled
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }
}
