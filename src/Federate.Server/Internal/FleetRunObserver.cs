using System.Globalization;

namespace Federate.Server.Internal;

/// <summary>Logs one line per round ("round N: ...") and publishes TRAINING_START and TRAINING_FINISHED.</summary>
internal sealed class FleetRunObserver(NotificationHub hub, ILogger logger) : IRunObserver
{
    public void OnRunStarted(RunHistory history, ArrayRecord initial) => hub.Publish(NotificationTypes.TrainingStart, null, initial);

    public void OnRoundStarted(int round, int sampled) => ServerLog.RoundStarted(logger, round, sampled);

    public void OnRoundCompleted(RoundRecord record, ArrayRecord global)
    {
        var metrics = string.Join(", ", record.Train.Where(kv => kv.Key != RecordNames.NumExamples).Select(kv => string.Create(CultureInfo.InvariantCulture, $"train {kv.Key} {kv.Value:0.####}"))
            .Concat(record.Evaluate.Where(kv => kv.Key != RecordNames.NumExamples).Select(kv => string.Create(CultureInfo.InvariantCulture, $"evaluate {kv.Key} {kv.Value:0.####}"))));
        ServerLog.RoundCompleted(logger, record.Round, record.Results, record.Failures.Count, metrics.Length == 0 ? "no metrics" : metrics, record.Seconds);
    }

    public void OnRunFinished(RunHistory history, ArrayRecord global)
    {
        hub.Publish(NotificationTypes.TrainingFinished, null, global);
        ServerLog.RunFinished(logger, history.StopDetail ?? history.StopReason ?? "finished");
    }
}
