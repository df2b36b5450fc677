using System.Diagnostics;
using System.Text;
using Federate.Chaos;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// A real <c>dotnet federate.dll ...</c> process whose output lines are collected, so tests wait for log lines
/// (never sleep): the chaos runner's <see cref="ChildProcess"/> with the tests' timeouts and error messages.
/// Disposing kills the process (only processes the test started) and writes its output to the test log.
/// </summary>
internal sealed class FederateProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly ITestOutputHelper? _log;
    private readonly string _name;

    private FederateProcess(string name, ChildProcess process, ITestOutputHelper? log)
    {
        _name = name;
        _process = process;
        _log = log;
    }

    // A bound, not a pace: at load 100 on 2 cores (the 10-run loop beside seven builds) a process gets ~2% of a core,
    // and shutting down after Ctrl+C took longer than 60 s of wall time.
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(120);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _process.Lines);

    public static FederateProcess Start(string name, ITestOutputHelper? log, params string[] args)
        => new(name, ChildProcess.Start(name, Path.Combine(AppContext.BaseDirectory, "federate.dll"), args), log);

    /// <summary>Starts a process with extra environment variables (e.g. a fault point, <see cref="Core.Diagnostics.FaultPoints"/>).</summary>
    public static FederateProcess Start(string name, ITestOutputHelper? log, IReadOnlyDictionary<string, string> environment, params string[] args)
        => new(name, ChildProcess.Start(name, Path.Combine(AppContext.BaseDirectory, "federate.dll"), args, environment), log);

    public static int FreePort() => ChildProcess.FreePort();

    /// <summary>Waits for an output line containing <paramref name="text"/> (already seen lines count).</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null) => WaitForLineAsync(l => l.Contains(text, StringComparison.Ordinal), text, timeout);

    public async Task<string> WaitForLineAsync(Func<string, bool> match, string description, TimeSpan? timeout = null)
        => await _process.WaitForLineAsync(match, timeout ?? DefaultTimeout)
            ?? throw new TimeoutException($"{_name} printed no line matching '{description}' within {(timeout ?? DefaultTimeout).TotalSeconds} s. Output:\n{Output}");

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
        => await _process.WaitForExitAsync(timeout ?? DefaultTimeout)
            ?? throw new TimeoutException($"{_name} did not exit within {(timeout ?? DefaultTimeout).TotalSeconds} s. Output:\n{Output}");

    public void Kill() => _process.Kill();

    /// <summary>Sends SIGINT (Ctrl+C) to the process.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _log?.WriteLine($"----- {_name} -----\n{Output}");
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
    /// <summary>Server arguments common to the tests: loopback, a free port, insecure, frequent heartbeats.</summary>
    public static string[] ServerArgs(int port, string outDir, params string[] more)
    {
        // Heartbeats every 0.5 s; a node is dropped after 10 s without one. 4 s proved too short on a loaded machine: a
        // client starting up (JIT, GC) missed its heartbeats, was expired right after joining and came back as a new node.
        string[] timing = more.Contains("--heartbeat-interval") ? [] : ["--heartbeat-interval", "0.5", "--node-expiry", "10"];
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
