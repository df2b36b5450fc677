using Federate.Core;
using Federate.Server.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Federate.Server.Tests;

public sealed class NodeRegistryTests
{
    [Fact]
    public void ExpireStale_SilentLongerThanExpiry_RemovesNodeWithReason()
    {
        var time = new FakeTimeProvider();
        using var registry = new NodeRegistry(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), NullLogger.Instance);
        var removed = new List<(long, string)>();
        registry.NodeRemoved += (id, reason) => removed.Add((id, reason));
        var a = registry.Register("a", 0);
        var b = registry.Register("b", 1);

        time.Advance(TimeSpan.FromSeconds(2));
        registry.Touch(b.Id);
        time.Advance(TimeSpan.FromSeconds(2)); // a silent 4 s, b silent 2 s; the timer fires on each advance

        Assert.Equal([(a.Id, "no heartbeat for 3 s")], removed);
        Assert.Null(registry.Touch(a.Id));
        Assert.NotNull(registry.Touch(b.Id));
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public async Task WaitForAsync_NodesJoinLater_CompletesWhenEnoughJoined()
    {
        var time = new FakeTimeProvider();
        using var registry = new NodeRegistry(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), NullLogger.Instance);
        var wait = registry.WaitForAsync(2, CancellationToken.None).AsTask();
        registry.Register("a", null);
        Assert.False(wait.IsCompleted);
        registry.Register("b", null);
        var nodes = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1L, 2L], nodes.Select(n => n.NodeId));
    }

    [Fact]
    public async Task WaitForAsync_NodeThatNeverPulls_IsNotSampledAndExpires()
    {
        // A registration whose reply timed out on the client: the client registered again; the first node never pulls.
        var time = new FakeTimeProvider();
        using var registry = new NodeRegistry(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), NullLogger.Instance);
        var ghost = registry.Register("a", 0, ready: false);
        var real = registry.Register("a", 0, ready: false);
        var wait = registry.WaitForAsync(1, CancellationToken.None).AsTask();
        Assert.False(wait.IsCompleted);
        registry.MarkReady(real);
        var nodes = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([real.Id], nodes.Select(n => n.NodeId));

        time.Advance(TimeSpan.FromSeconds(2));
        registry.Touch(real.Id);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(registry.Get(ghost.Id));
        Assert.Equal([real.Id], (await registry.WaitForAsync(1, CancellationToken.None)).Select(n => n.NodeId));
    }

    [Fact]
    public void Register_AfterRunFinished_NodeLearnsItAtOnce()
    {
        using var registry = new NodeRegistry(new FakeTimeProvider(), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), NullLogger.Instance);
        registry.Finish(StopReasons.RoundLimit, "done");
        var node = registry.Register("late", null);
        Assert.True(node.Outbox.Reader.TryRead(out var item));
        Assert.IsType<OutboundFinished>(item);
    }
}

public sealed class StreamingFoldTests
{
    private static ArrayRecord Model(float seed, int n = 1000) =>
        new() { { "w", Tensor.FromArray(Enumerable.Range(0, n).Select(i => seed + (i * 0.001f)).ToArray(), n) }, { "b", Tensor.FromArray(new double[] { seed, -seed }, 2) } };

    private static Message Reply(long node, ArrayRecord model, double examples)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = model;
        content.Metrics[RecordNames.Metrics] = new MetricRecord { ["loss"] = examples / 10, [RecordNames.NumExamples] = examples };
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, SourceNodeId = node }, content);
    }

    private static void FoldInChunks(IUpdateFold fold, ArrayRecord model, int chunkElements)
    {
        int t = 0;
        foreach (var (_, tensor) in model)
        {
            int elem = tensor.DType.SizeOf();
            var bytes = tensor.AsBytes();
            for (int off = 0; off < bytes.Length; off += chunkElements * elem)
            {
                var slice = bytes.Slice(off, Math.Min(chunkElements * elem, bytes.Length - off));
                fold.FoldChunk(t, off / elem, slice);
            }

            t++;
        }
    }

    [Fact]
    public void BeginUpdate_ChunkedFold_BitIdenticalToWholeUpdateAdd()
    {
        var global = Model(0);
        var whole = new WeightedMeanAggregator(global);
        var streamed = new WeightedMeanAggregator(global);
        var updates = new[] { (1L, Model(0.3f), 40.0), (2L, Model(-1.7f), 13.0), (3L, Model(2.2f), 7.0) };
        foreach (var (node, model, n) in updates)
        {
            Assert.Null(whole.Add(Reply(node, model, n)));
            var fold = streamed.BeginUpdate(node, new MetricRecord { ["loss"] = n / 10, [RecordNames.NumExamples] = n });
            FoldInChunks(fold, model, 37);
            fold.Commit();
        }

        var a = whole.Complete();
        var b = streamed.Complete();
        Assert.Equal(3, streamed.Count);
        Assert.True(a.Parameters!["w"].AsBytes().SequenceEqual(b.Parameters!["w"].AsBytes()));
        Assert.True(a.Parameters!["b"].AsBytes().SequenceEqual(b.Parameters!["b"].AsBytes()));
        Assert.Equal(a.Metrics.ToList(), b.Metrics.ToList());
    }

    [Fact]
    public void UnfoldChunk_AbandonedUpdate_LeavesRunningSumAsBeforeUpToRounding()
    {
        var global = Model(0);
        var reference = new WeightedMeanAggregator(global);
        var agg = new WeightedMeanAggregator(global);
        Assert.Null(reference.Add(Reply(1, Model(0.5f), 10)));
        var kept = agg.BeginUpdate(1, new MetricRecord { [RecordNames.NumExamples] = 10, ["loss"] = 1 });
        FoldInChunks(kept, Model(0.5f), 100);
        kept.Commit();

        var abandoned = agg.BeginUpdate(2, new MetricRecord { [RecordNames.NumExamples] = 30 });
        FoldInChunks(abandoned, Model(3f), 100);
        var bad = Model(3f);
        int t = 0;
        foreach (var (_, tensor) in bad)
        {
            abandoned.UnfoldChunk(t++, 0, tensor.AsBytes());
        }

        var expected = reference.Complete().Parameters!["w"].AsSpan<float>().ToArray();
        var actual = agg.Complete().Parameters!["w"].AsSpan<float>().ToArray();
        Assert.Equal(1, agg.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.InRange(actual[i], expected[i] - 1e-4f, expected[i] + 1e-4f);
        }
    }

    [Fact]
    public void BeginUpdate_NoNumExamples_Refused()
    {
        var agg = new WeightedMeanAggregator(Model(0));
        Assert.Throws<ArgumentException>(() => agg.BeginUpdate(1, new MetricRecord { ["loss"] = 1 }));
    }
}
