using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// A real <c>dotnet federate.dll ...</c> process whose output lines are collected, so tests wait for log lines
/// (never sleep). Disposing kills the process (only processes the test started).
/// </summary>
internal sealed class FederateProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly ITestOutputHelper? _log;
    private readonly string _name;

    private FederateProcess(string name, Process process, ITestOutputHelper? log)
    {
        _name = name;
        _process = process;
        _log = log;
    }

    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

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

    public static FederateProcess Start(string name, ITestOutputHelper? log, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "federate.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var fp = new FederateProcess(name, process, log);
        process.OutputDataReceived += (_, e) => fp.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => fp.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return fp;
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Waits for an output line containing <paramref name="text"/> (already seen lines count).</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null) => WaitForLineAsync(l => l.Contains(text, StringComparison.Ordinal), text, timeout);

    public async Task<string> WaitForLineAsync(Func<string, bool> match, string description, TimeSpan? timeout = null)
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            var found = _lines.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            _waiters.Add((match, tcs));
        }

        try
        {
            return await tcs.Task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_name} printed no line matching '{description}' within {(timeout ?? DefaultTimeout).TotalSeconds} s. Output:\n{Output}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_name} did not exit within {(timeout ?? DefaultTimeout).TotalSeconds} s. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the output
        return _process.ExitCode;
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends SIGINT (Ctrl+C) to the process.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        _log?.WriteLine($"----- {_name} -----\n{Output}");
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> done = [];
        lock (_lock)
        {
            _lines.Add(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    done.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var d in done)
        {
            d.TrySetResult(line);
        }
    }
}

/// <summary>A temporary folder deleted at the end of a test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "federate-it-" + Guid.NewGuid().ToString("N")[..8]);

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Args
{
    /// <summary>Server arguments common to the tests: loopback, a free port, insecure, fast heartbeats.</summary>
    public static string[] ServerArgs(int port, string outDir, params string[] more)
    {
        string[] timing = more.Contains("--heartbeat-interval") ? [] : ["--heartbeat-interval", "0.5", "--node-expiry", "4"];
        string[] state = more.Contains("--state-dir") ? [] : ["--state-dir", System.IO.Path.Combine(outDir, "state")];
        string[] inspector = more.Contains("--inspector-port") || more.Contains("--no-inspector") ? [] : ["--inspector-port", "0"];
        return ["server", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--insecure", "--out", outDir, .. timing, .. state, .. inspector, .. more];
    }

    public static string[] ClientArgs(int port, params string[] more) =>
        ["client", "--server", $"127.0.0.1:{port}", "--insecure", "--retry-interval", "0.2", "--max-retry-interval", "0.5", .. more];

    public static string Text(StringBuilder sb) => sb.ToString();

    /// <summary>The inspector URL a server printed ("inspector: http://127.0.0.1:PORT/").</summary>
    public static async Task<Uri> InspectorUrlAsync(FederateProcess server)
    {
        var line = await server.WaitForLineAsync("inspector: http://");
        return new Uri(line[(line.IndexOf("http://", StringComparison.Ordinal))..].Trim());
    }
}
