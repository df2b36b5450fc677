using System.Collections.Concurrent;
using Federate.Client;
using Federate.Core;
using Federate.Core.Client;
using Federate.Core.Running;
using Federate.Core.Strategies;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Tests;

/// <summary>
/// A client's per-task log lines (task received, reply submitted, transfer rate) come at
/// <see cref="FleetClientOptions.TaskLogLevel"/>; a transfer under 1 MiB logs its rate at debug level whatever it is.
/// </summary>
public sealed class ClientTaskLogTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(300_000, LogLevel.Information, LogLevel.Information)] // 1.2 MB: its rate is worth a line
    [InlineData(1_000, LogLevel.Information, LogLevel.Debug)]
    [InlineData(300_000, LogLevel.Debug, LogLevel.Debug)] // many clients in one process
    public async Task RunAsync_PerTaskLines_AtTheTaskLevelAndSmallTransfersAtDebug(int parameters, LogLevel taskLevel, LogLevel transferLevel)
    {
        var options = new FleetServerOptions { Port = 0, Host = "127.0.0.1", Insecure = true, FinishGrace = TimeSpan.FromSeconds(5) };
        await using var server = await FleetServer.StartAsync(options);
        var runOptions = new RunOptions { Rounds = 1, MinNodes = 1, RoundTimeout = Limit, RunId = options.RunId };
        var driver = new RunDriver(server.Grid, new FedAvg { Sampling = new SamplingOptions { FractionEvaluate = 0 } }, runOptions, [server.Observer]);
        var run = driver.RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[parameters], parameters) } });

        var log = new LevelLogger();
        var clientOptions = new FleetClientOptions { Server = $"127.0.0.1:{server.Port}", Insecure = true, PartitionId = 0, Name = "a", TaskLogLevel = taskLevel };
        using var client = new FleetClient(clientOptions, new EchoApp(), logger: log);
        using var stop = new CancellationTokenSource(Limit);
        var clientRun = client.RunAsync(stop.Token);
        var result = await run.WaitAsync(Limit);
        await server.FinishAsync(result.History);
        Assert.Equal(ClientExit.Finished, await clientRun.WaitAsync(Limit));

        long bytes = parameters * 4L;
        Assert.Equal(taskLevel, Assert.Single(log.Lines, l => l.Text == $"round 1: train task received ({bytes} bytes)").Level);
        Assert.Equal(taskLevel, Assert.Single(log.Lines, l => l.Text == "round 1: train reply submitted").Level);
        Assert.Equal(transferLevel, Assert.Single(log.Lines, l => l.Text.StartsWith($"transfer: download {bytes} bytes", StringComparison.Ordinal)).Level);
        Assert.Equal(transferLevel, Assert.Single(log.Lines, l => l.Text.StartsWith($"transfer: upload {bytes} bytes", StringComparison.Ordinal)).Level);

        // The client's other lines are not per task: joining stays at information.
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Information && l.Text.StartsWith("joined", StringComparison.Ordinal));
    }

    private sealed class EchoApp : IClientApp
    {
        public ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
        {
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = message.Content!.Arrays[RecordNames.Model];
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
            return ValueTask.FromResult(message.CreateReply(content));
        }
    }

    private sealed class LevelLogger : ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

        public IReadOnlyList<(LogLevel Level, string Text)> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => _lines.Enqueue((logLevel, formatter(state, exception)));
    }
}
