using System.Text.Json.Nodes;
using Federate.Client;
using Federate.Core;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

/// <summary>
/// A client of design 2's demo (<c>--dataset synthetic-sensors</c>): trains on synthetic sensor data, generates new
/// data when the server asks (DEMO_GENERATE_DATA, with a seed), and adds a summary of its data to every reply
/// (<c>data_rows</c>, <c>data_overheating</c>, <c>data_vibration_fault</c>, <c>data_mean_temperature</c>,
/// <c>data_seed</c>) so the inspector can show all clients' data. Summaries only: the rows never leave the client.
/// </summary>
internal sealed partial class DemoClient : NotificationHandler, IClientApp
{
    private readonly int _partition;
    private readonly int _rows;
    private readonly double _testFraction;
    private readonly Func<Dataset, Dataset, IClientApp> _build;
    private readonly INotificationHandler? _inner;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private (IClientApp App, MetricRecord Summary) _current;

    public DemoClient(int partition, Dataset train, Dataset test, double testFraction, Func<Dataset, Dataset, IClientApp> build, INotificationHandler? inner, ILogger logger)
    {
        _partition = partition;
        _rows = train.Count + test.Count;
        _testFraction = testFraction;
        _build = build;
        _inner = inner;
        _logger = logger;
        _current = (build(train, test), Summarize(train, test, seed: null));
    }

    public async ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
    {
        (IClientApp App, MetricRecord Summary) current;
        lock (_lock)
        {
            current = _current;
        }

        var reply = await current.App.HandleAsync(message, cancellationToken).ConfigureAwait(false);
        if (reply.Content?.Metrics.TryGetValue(RecordNames.Metrics, out var metrics) == true)
        {
            foreach (var (key, value) in current.Summary)
            {
                metrics[key] = value;
            }
        }

        return reply;
    }

    /// <summary>Replaces the data with as many new readings, generated from (<paramref name="seed"/>, partition).</summary>
    public void Generate(int seed)
    {
        var all = SyntheticSensors.Generate(_rows, Seeds.Derive(seed, _partition, "demo-data"), site: _partition);
        int test = Math.Max(1, (int)Math.Round(all.Count * _testFraction));
        var trainSet = all.Subset([.. Enumerable.Range(test, all.Count - test)]);
        var testSet = all.Subset([.. Enumerable.Range(0, test)]);
        var next = (_build(trainSet, testSet), Summarize(trainSet, testSet, seed));
        lock (_lock)
        {
            _current = next;
        }

        Log.Generated(_logger, _partition, all.Count, seed);
    }

    public override Task OnTrainingStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => _inner?.OnTrainingStartAsync(notification, cancellationToken) ?? Task.CompletedTask;

    public override Task OnUpdateRoundStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => _inner?.OnUpdateRoundStartAsync(notification, cancellationToken) ?? Task.CompletedTask;

    public override Task OnModelTestRoundAsync(LifecycleNotification notification, CancellationToken cancellationToken) => _inner?.OnModelTestRoundAsync(notification, cancellationToken) ?? Task.CompletedTask;

    public override Task OnTrainingFinishedAsync(LifecycleNotification notification, CancellationToken cancellationToken) => _inner?.OnTrainingFinishedAsync(notification, cancellationToken) ?? Task.CompletedTask;

    public override Task<int> OnUnknownAsync(LifecycleNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        switch (notification.NotificationType)
        {
            case NotificationTypes.DemoGenerateData:
                int seed = notification.Body["seed"] is JsonValue v && v.TryGetValue<int>(out var s) ? s : 0;
                Generate(seed);
                return Task.FromResult(200);
            case NotificationTypes.RunReset:
                Log.Reset(_logger, _partition, notification.Body["reason"]?.ToString() ?? "reset");
                return Task.FromResult(200);
            default:
                return _inner?.OnUnknownAsync(notification, cancellationToken) ?? Task.FromResult(400);
        }
    }

    private static MetricRecord Summarize(Dataset train, Dataset test, int? seed)
    {
        int rows = train.Count + test.Count;
        int overheating = train.Labels.Count(l => l == 1) + test.Labels.Count(l => l == 1);
        int vibration = train.Labels.Count(l => l == 2) + test.Labels.Count(l => l == 2);
        double temperature = 0;
        foreach (var d in (Dataset[])[train, test])
        {
            for (int i = 0; i < d.Count; i++)
            {
                temperature += (d.Row(i)[0] * 5.0) + 23; // undo the fixed scaling of SyntheticSensors
            }
        }

        var summary = new MetricRecord();
        summary["data_rows"] = rows;
        summary["data_overheating"] = (double)overheating / rows;
        summary["data_vibration_fault"] = (double)vibration / rows;
        summary["data_mean_temperature"] = Math.Round(temperature / rows, 3);
        summary["data_seed"] = seed ?? -1;
        return summary;
    }

    private static partial class Log
    {
        [LoggerMessage(101, LogLevel.Information, "demo: partition {Partition} generated {Rows} rows of synthetic sensor data (seed {Seed})")]
        public static partial void Generated(ILogger logger, int partition, int rows, int seed);

        [LoggerMessage(102, LogLevel.Information, "reset: partition {Partition} dropped its local training state ({Reason})")]
        public static partial void Reset(ILogger logger, int partition, string reason);
    }
}
