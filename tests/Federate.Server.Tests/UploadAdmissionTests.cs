using Federate.Core;
using Federate.Server.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Federate.Server.Tests;

/// <summary>
/// <see cref="FleetServerOptions.MaxConcurrentUploads"/>: at most that many streamed train updates are read at once,
/// whatever the number of clients; the next waits unread until one ends its reading (finished or failed).
/// </summary>
public sealed class UploadAdmissionTests
{
    private static PendingTask Task(int order) =>
        new(new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, DestinationNodeId = order + 1 }, new RecordDict()), order, streaming: true);

    [Fact]
    public async Task AdmitAsync_OneUploadAtATime_NextWaitsUntilReadingEnds()
    {
        var time = new FakeTimeProvider();
        using var registry = new NodeRegistry(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), NullLogger.Instance);
        using var grid = new FleetGrid(registry, new NotificationHub("r", registry, null), new FleetServerOptions { MaxConcurrentUploads = 1 }, time, NullLogger.Instance);
        var (a, b, c) = (Task(0), Task(1), Task(2));

        Assert.True(await grid.AdmitAsync(a, CancellationToken.None));
        var admitB = grid.AdmitAsync(b, CancellationToken.None);
        var admitC = grid.AdmitAsync(c, CancellationToken.None);
        Assert.False(admitB.IsCompleted);
        Assert.False(admitC.IsCompleted);

        // a's upload was read (it waits for its fold now): one of the two waiting uploads is admitted, not both.
        grid.EndReading(a);
        var first = await System.Threading.Tasks.Task.WhenAny(admitB, admitC).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(await first);
        var second = first == admitB ? admitC : admitB;
        Assert.False(second.IsCompleted);

        // The admitted upload fails: releasing its task frees its reading slot too.
        grid.Release(first == admitB ? b : c);
        Assert.True(await second.WaitAsync(TimeSpan.FromSeconds(30)));
        grid.Release(a);
    }

    [Fact]
    public void Validate_NoUploadSlot_RefusedWithOneLine()
    {
        Assert.Equal("--max-concurrent-uploads must be at least 1, got 0", new FleetServerOptions { MaxConcurrentUploads = 0, Insecure = true }.Validate());
    }
}
