using System.Diagnostics;
using System.Globalization;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// Flower compatibility with real processes on 127.0.0.1: a Python stand-in speaking Flower's
/// <c>FlowerService/Join</c> (Flower/flower_standin.py: Debian's python3-grpcio, -protobuf and -numpy, no Flower
/// install) as clients of a Federate server and as the server of Federate clients; Federate's own Flower client
/// beside a native client.
/// </summary>
[Collection(FlowerCollection.Name)]
public sealed class FlowerInteropTests(ITestOutputHelper log)
{
    /// <summary>
    /// The evaluate losses two Flower 1.19 NumPyClients (the stand-in's data and training) saw under Flower's own
    /// <c>start_server</c> with FedAvg, rounds 1 to 3 (measured with Flower 1.19.0 from source and Debian's numpy 1.24).
    /// </summary>
    internal static readonly double[] FlowerServerLosses = [4.104234576225281, 2.516473710536957, 1.551581084728241];

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Run_StandInFlowerClientsOnFederate_LossesEqualFlowersOwnServer()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--model", "none", "--min-clients", "2", "--rounds", "3", "--config", "tag=blue", "--config", "mu=0.25"));
        await server.WaitForLineAsync("FlowerService/Join");
        using var c0 = StandIn.Start(log, "client", $"127.0.0.1:{flowerPort}", "0");
        using var c1 = StandIn.Start(log, "client", $"127.0.0.1:{flowerPort}", "1");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await c0.WaitForExitAsync());
        Assert.Equal(0, await c1.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(2, history.Rounds[r].Results);
            Assert.Empty(history.Rounds[r].Failures);
            Assert.Equal(FlowerServerLosses[r], history.Rounds[r].Evaluate["loss"], 1e-12);

            // String and bytes metrics are kept per node (they cannot be averaged).
            Assert.Equal(["standin-0", "standin-1"], history.Rounds[r].TrainValues.Where(v => v.Key == "device").Select(v => v.Value.AsString()).Order(StringComparer.Ordinal));
            Assert.Equal(["AP8=", "Af8="], history.Rounds[r].EvaluateValues.Where(v => v.Key == "digest").Select(v => Convert.ToBase64String(v.Value.AsBytes())).Order(StringComparer.Ordinal));
            Assert.False(history.Rounds[r].Train.ContainsKey("device"));
        }

        Assert.Contains("standin 0 fit server_round=3", c0.Output, StringComparison.Ordinal);
        // local_epochs, lr and batch_size reach Flower clients only when the operator sets them, as from a Flower server.
        Assert.Contains("standin 1 fit config mu=double:0.25, server_round=sint64:2, tag=string:blue", c1.Output, StringComparison.Ordinal);
        Assert.Contains("standin 1 done", c1.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_StandInFlowerClientsOverTlsWithAKit_SameLosses()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a", "--out", kits);
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["server"], "--flower-port", S(flowerPort), "--model", "none", "--min-clients", "2", "--rounds", "3"));
        await server.WaitForLineAsync("Flower clients do not take part in the kit's challenge-response");
        var ca = Path.Combine(kits, "site-a", "ca.pem");
        using var c0 = StandIn.Start(log, "client", $"localhost:{flowerPort}", "0", ca);
        using var c1 = StandIn.Start(log, "client", $"localhost:{flowerPort}", "1", ca);

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await c0.WaitForExitAsync());
        Assert.Equal(0, await c1.WaitForExitAsync());
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(FlowerServerLosses, history.Rounds.Select(r => r.Evaluate["loss"]).ToArray());
        Assert.Contains("listening on https://", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FlowerAndNativeClientsOnOneServer_TrainTogether()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--dataset", "iris", "--model", "logistic", "--min-clients", "2", "--rounds", "3", "--seed", "3"));
        await server.WaitForLineAsync("FlowerService/Join");
        await using var native = FederateProcess.Start("native", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2", "--seed", "3"));
        await using var flower = FederateProcess.Start("flower", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2", "--seed", "3");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await native.WaitForExitAsync());
        Assert.Equal(0, await flower.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r =>
        {
            Assert.Equal(2, r.Results);
            Assert.Empty(r.Failures);
            Assert.True(r.Evaluate.ContainsKey("accuracy"));
        });
        Assert.Contains("'flower@ipv4:127.0.0.1:", server.Output, StringComparison.Ordinal);
        Assert.Contains("the server sent reconnect_ins after 6 answers", flower.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FederateClientsUnderStandInFlowerServer_FinishAndExitZero()
    {
        int flowerPort = FederateProcess.FreePort();
        using var server = StandIn.Start(log, "server", $"127.0.0.1:{flowerPort}", "2", "3");
        await server.WaitForLineAsync("standin server listening");
        await using var c0 = FederateProcess.Start("c0", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2");
        await using var c1 = FederateProcess.Start("c1", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2");

        Assert.Equal(0, await c0.WaitForExitAsync());
        Assert.Equal(0, await c1.WaitForExitAsync());
        Assert.Equal(0, await server.WaitForExitAsync());

        Assert.Contains("standin server round 3: 2 results, 0 failures", server.Output, StringComparison.Ordinal);
        Assert.Contains("standin server done, 0 failures", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_FlowerProtocolNothingListening_ExitsOneWithReason()
    {
        int flowerPort = FederateProcess.FreePort();
        await using var client = FederateProcess.Start("c", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic");

        Assert.Equal(1, await client.WaitForExitAsync());
        Assert.Contains($"error: the Flower stream with 127.0.0.1:{flowerPort} failed after 0 answers: Unavailable", client.Output, StringComparison.Ordinal);
    }

    /// <summary>A Python stand-in (Debian's python3 with grpcio, protobuf and numpy), its output collected.</summary>
    internal sealed class StandIn : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly Lock _lock = new();
        private readonly ITestOutputHelper _log;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private StandIn(Process process, ITestOutputHelper log)
        {
            _process = process;
            _log = log;
        }

        public string Output
        {
            get
            {
                lock (_lock)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        public static StandIn Start(ITestOutputHelper log, params string[] args) => StartScript(log, "flower_standin.py", args);

        /// <summary>Starts one of the stand-in scripts copied beside the tests (flower_standin.py, supernode_standin.py).</summary>
        public static StandIn StartScript(ITestOutputHelper log, string script, params string[] args)
        {
            // Debian's interpreter: the one whose python3-grpcio / -protobuf / -numpy the CI installs.
            var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, script));
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            var process = new Process { StartInfo = psi };
            var standIn = new StandIn(process, log);
            process.OutputDataReceived += (_, e) => standIn.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => standIn.OnLine(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return standIn;
        }

        public async Task WaitForLineAsync(string text)
        {
            using var timeout = new CancellationTokenSource(FederateProcess.DefaultTimeout);
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                if (_process.HasExited)
                {
                    await _process.WaitForExitAsync(timeout.Token);
                    lock (_lock)
                    {
                        if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
                        {
                            return;
                        }
                    }

                    throw new InvalidOperationException($"the stand-in exited with {_process.ExitCode} before printing '{text}' (is python3-grpcio, -protobuf, -numpy installed?): {Output}");
                }

                try
                {
                    await Task.WhenAny(changed, _process.WaitForExitAsync(timeout.Token)).WaitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"the stand-in did not print '{text}' in time: {Output}");
                }
            }
        }

        public async Task<int> WaitForExitAsync()
        {
            using var timeout = new CancellationTokenSource(FederateProcess.DefaultTimeout);
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _lines.Add(line);
                var old = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                old.TrySetResult();
            }

            try
            {
                _log.WriteLine($"[standin] {line}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}

/// <summary>
/// The Flower tests start many processes; they run on their own after the parallel tests, so they add no load to the
/// timing-sensitive tests (1.5 s round timeouts) running beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FlowerCollection
{
    public const string Name = "Flower interop (not parallel)";
}

/// <summary><c>--model none</c> with native clients: they answer the initial get-parameters query too.</summary>
[Collection(FlowerCollection.Name)]
public sealed class InitialFromClientTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Run_ModelNoneNativeClients_InitialModelComesFromAClient()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "none", "--dataset", "iris", "--min-clients", "2", "--rounds", "2"));
        await using var c0 = FederateProcess.Start("c0", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2"));
        await using var c1 = FederateProcess.Start("c1", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2"));

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await c0.WaitForExitAsync());
        Assert.Equal(0, await c1.WaitForExitAsync());

        // Logistic regression on iris: a 4x3 weight matrix and 3 biases.
        Assert.Contains("initial parameters from a client: 2 tensors, 15 values", server.Output, StringComparison.Ordinal);
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));
    }
}
