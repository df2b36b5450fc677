using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Federate.Core.Diagnostics;

/// <summary>The run driver's instruments and activities (see <see cref="FederateDiagnostics"/> for the names).</summary>
internal static class RunTelemetry
{
    public const string StageTag = "federate.stage";
    public const string RoundTag = "federate.round";
    public const string NodeTag = "federate.node.id";

    private static readonly Counter<long> Rounds = FederateDiagnostics.Meter.CreateCounter<long>("federate.rounds", "{round}", "Rounds completed.");
    private static readonly Histogram<double> RoundDuration = FederateDiagnostics.Meter.CreateHistogram<double>("federate.round.duration", "s", "Duration of a round.");
    private static readonly Histogram<double> StageDuration = FederateDiagnostics.Meter.CreateHistogram<double>("federate.stage.duration", "s", "Duration of a round's stage.");
    private static readonly Histogram<double> AggregationDuration = FederateDiagnostics.Meter.CreateHistogram<double>("federate.aggregation.duration", "s", "Time to complete the train aggregate after the last reply.");
    private static readonly Counter<long> Replies = FederateDiagnostics.Meter.CreateCounter<long>("federate.node.replies", "{reply}", "Successful node replies.");
    private static readonly Counter<long> Failures = FederateDiagnostics.Meter.CreateCounter<long>("federate.node.failures", "{failure}", "Failed node tasks, by stage and reason code.");
    private static readonly Gauge<double> Epsilon = FederateDiagnostics.Meter.CreateGauge<double>("federate.privacy.epsilon", "1", "Cumulative privacy loss (epsilon) reported by the last round.");

    public static Activity? StartRun(string runId, string strategy)
    {
        var activity = FederateDiagnostics.ActivitySource.StartActivity("federate.run");
        activity?.SetTag("federate.run.id", runId);
        activity?.SetTag("federate.strategy", strategy);
        return activity;
    }

    public static Activity? StartRound(int round)
    {
        var activity = FederateDiagnostics.ActivitySource.StartActivity("federate.round");
        activity?.SetTag(RoundTag, round);
        return activity;
    }

    public static Activity? StartStage(string stage, int round)
    {
        var activity = FederateDiagnostics.ActivitySource.StartActivity("federate.stage");
        if (activity is not null)
        {
            activity.DisplayName = stage;
            activity.SetTag(StageTag, stage);
            activity.SetTag(RoundTag, round);
        }

        return activity;
    }

    /// <summary>
    /// Starts the node tasks' activities under the current one (the stage) without making them current, keyed by
    /// destination node; null when nobody listens.
    /// </summary>
    public static Dictionary<long, Activity>? StartNodeTasks(string stage, int round, IReadOnlyList<Message> instructions)
    {
        if (!FederateDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        var parent = Activity.Current;
        var tasks = new Dictionary<long, Activity>();
        try
        {
            foreach (var instruction in instructions)
            {
                long node = instruction.Metadata.DestinationNodeId;
                if (FederateDiagnostics.ActivitySource.StartActivity("federate.node.task", ActivityKind.Client) is { } activity)
                {
                    activity.DisplayName = $"{stage} task";
                    activity.SetTag(StageTag, stage);
                    activity.SetTag(RoundTag, round);
                    activity.SetTag(NodeTag, node);
                    tasks.TryAdd(node, activity);
                }

                Activity.Current = parent;
            }
        }
        finally
        {
            Activity.Current = parent;
        }

        return tasks;
    }

    /// <summary>Counts a reply and ends its node task's activity (with an error status for a failure).</summary>
    public static void Reply(string stage, Message reply, Dictionary<long, Activity>? tasks)
    {
        if (reply.Error is { } error)
        {
            Failures.Add(1, new KeyValuePair<string, object?>(StageTag, stage), new KeyValuePair<string, object?>("error.type", error.Code));
        }
        else
        {
            Replies.Add(1, new KeyValuePair<string, object?>(StageTag, stage));
        }

        if (tasks is not null && tasks.Remove(reply.Metadata.SourceNodeId, out var activity))
        {
            if (reply.Error is { } e)
            {
                activity.SetStatus(ActivityStatusCode.Error, e.Code);
                activity.SetTag("error.type", e.Code);
            }

            activity.Dispose();
        }
    }

    /// <summary>Ends the node tasks that got no reply.</summary>
    public static void EndNodeTasks(Dictionary<long, Activity>? tasks)
    {
        if (tasks is null)
        {
            return;
        }

        foreach (var activity in tasks.Values)
        {
            activity.SetStatus(ActivityStatusCode.Error, "no reply");
            activity.Dispose();
        }

        tasks.Clear();
    }

    public static void StageCompleted(string stage, TimeSpan elapsed) =>
        StageDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(StageTag, stage));

    public static void AggregationCompleted(TimeSpan elapsed) => AggregationDuration.Record(elapsed.TotalSeconds);

    public static void RoundCompleted(RoundRecord record)
    {
        Rounds.Add(1);
        RoundDuration.Record(record.Seconds);
        if (record.Train.TryGetValue("cumulative_sample_epsilon", out var sample))
        {
            Epsilon.Record(sample, new KeyValuePair<string, object?>("federate.privacy.level", "sample"));
        }

        if (record.Train.TryGetValue("cumulative_user_epsilon", out var user))
        {
            Epsilon.Record(user, new KeyValuePair<string, object?>("federate.privacy.level", "user"));
        }
    }
}
