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
