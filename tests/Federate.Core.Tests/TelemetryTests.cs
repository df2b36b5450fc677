using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Federate.Core.Diagnostics;

namespace Federate.Core.Tests;

/// <summary>
/// The run driver's metrics and activities, heard through MeterListener and ActivityListener. The collection runs
/// alone: the Federate meter is process-wide, so another test's run would add to the counts.
/// </summary>
[Collection(nameof(TelemetryTests))]
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static DirectGrid Grid(int clients)
    {
        var apps = new Dictionary<long, IClientApp>();
        for (int i = 1; i <= clients; i++)
        {
            long node = i;
            apps[node] = new FixedClient((p, round) => Records.Vector(p["w"].AsSpan<float>()[0] + node), node, _ => 0.5).ToClientApp();
        }

        return new DirectGrid(apps);
    }

    [Fact]
    public async Task RunAsync_TwoRoundsTwoNodes_RecordsRoundsStagesRepliesAndAggregations()
    {
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FederateDiagnostics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        listener.Start();

        var result = await new RunDriver(Grid(2), new FedAvg(), new RunOptions { Rounds = 2, RunId = "metrics-run" }).RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        listener.Dispose();

        Assert.Equal(2, result.History.Rounds.Count);
        Assert.Equal(2, measurements.Where(m => m.Instrument == "federate.rounds").Sum(m => m.Value));
        var rounds = measurements.Where(m => m.Instrument == "federate.round.duration").Select(m => m.Value).ToList();
        Assert.Equal(result.History.Rounds.Select(r => r.Seconds), rounds);
        Assert.Equal(["evaluate", "evaluate", "train", "train"], measurements.Where(m => m.Instrument == "federate.stage.duration").Select(m => (string)m.Tags["federate.stage"]!).Order());
        Assert.Equal(2, measurements.Count(m => m.Instrument == "federate.aggregation.duration"));
        Assert.Equal(4, measurements.Where(m => m.Instrument == "federate.node.replies" && (string?)m.Tags["federate.stage"] == "train").Sum(m => m.Value));
        Assert.Equal(4, measurements.Where(m => m.Instrument == "federate.node.replies" && (string?)m.Tags["federate.stage"] == "evaluate").Sum(m => m.Value));
        Assert.DoesNotContain(measurements, m => m.Instrument is "federate.node.failures" or "federate.privacy.epsilon");
    }

    [Fact]
    public async Task RunAsync_WithActivityListener_NestsRunRoundStageAndNodeTasks()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == FederateDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await new RunDriver(Grid(2), new FedAvg(), new RunOptions { Rounds = 2, RunId = "traced-run" }).RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);

        var run = Assert.Single(activities, a => a.OperationName == "federate.run" && (string?)a.GetTagItem("federate.run.id") == "traced-run");
        Assert.Equal("fedavg", run.GetTagItem("federate.strategy"));
        var rounds = activities.Where(a => a.OperationName == "federate.round" && a.Parent == run).ToList();
        Assert.Equal([1, 2], rounds.Select(r => (int)r.GetTagItem("federate.round")!).Order());
        var stages = activities.Where(a => a.OperationName == "federate.stage" && rounds.Contains(a.Parent!)).ToList();
        Assert.Equal(["evaluate", "evaluate", "train", "train"], stages.Select(s => s.DisplayName).Order());
        var tasks = activities.Where(a => a.OperationName == "federate.node.task" && stages.Contains(a.Parent!)).ToList();
        Assert.Equal(8, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(ActivityStatusCode.Unset, t.Status));
        Assert.Equal([1L, 1L, 1L, 1L, 2L, 2L, 2L, 2L], tasks.Select(t => (long)t.GetTagItem("federate.node.id")!).Order());
        Assert.All(tasks, t => Assert.Equal(t.Parent!.GetTagItem("federate.stage"), t.GetTagItem("federate.stage")));
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }
}
