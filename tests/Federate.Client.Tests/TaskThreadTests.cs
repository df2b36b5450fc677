using Federate.Client.Internal;

namespace Federate.Client.Tests;

/// <summary>A client's tasks run one after another on one reused background thread, off the thread pool.</summary>
public sealed class TaskThreadTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RunAsync_Tasks_RunInOrderOnOneBackgroundThreadOffThePool()
    {
        using var thread = new TaskThread();
        var seen = new List<(int Id, bool Pool, bool Background, int Order)>();
        for (int i = 0; i < 5; i++)
        {
            int order = i;
            var result = await thread.RunAsync(() =>
            {
                var t = Thread.CurrentThread;
                seen.Add((Environment.CurrentManagedThreadId, t.IsThreadPoolThread, t.IsBackground, order));
                return order * 10;
            }, CancellationToken.None).WaitAsync(Limit);
            Assert.Equal(i * 10, result);
        }

        Assert.Single(seen.Select(s => s.Id).Distinct());
        Assert.All(seen, s => Assert.False(s.Pool));
        Assert.All(seen, s => Assert.True(s.Background));
        Assert.Equal([0, 1, 2, 3, 4], seen.Select(s => s.Order));
    }

    [Fact]
    public async Task RunAsync_Failure_CancellationBeforeStart_AndDispose_AreReported()
    {
        using var thread = new TaskThread();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => thread.RunAsync<int>(() => throw new InvalidOperationException("bad data"), CancellationToken.None).WaitAsync(Limit));
        Assert.Equal("bad data", ex.Message);

        // Queued behind a task that waits: canceled before it starts, so its body never runs.
        using var release = new ManualResetEventSlim();
        var blocking = thread.RunAsync(() => release.Wait(Limit), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        bool ran = false;
        var queued = thread.RunAsync(() => ran = true, cancel.Token);
        await cancel.CancelAsync();
        release.Set();
        Assert.True(await blocking.WaitAsync(Limit));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(Limit));
        Assert.False(ran);

        // The thread still serves after both.
        Assert.Equal(7, await thread.RunAsync(() => 7, CancellationToken.None).WaitAsync(Limit));
        thread.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { _ = thread.RunAsync(() => 1, CancellationToken.None); });
    }
}
