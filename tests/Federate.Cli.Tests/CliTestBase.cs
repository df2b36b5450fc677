using System.Diagnostics;
using System.Text.Json;

namespace Federate.Cli.Tests;

/// <summary>Runs the federate tool in-process (its real entry point) or as a real process.</summary>
internal static class Cli
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await FederateCli.RunAsync(args, output, error).WaitAsync(TimeSpan.FromMinutes(5));
        return (code, output.ToString(), error.ToString());
    }

    public static async Task<(int Code, string Out, string Err)> RunProcessAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "federate.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "federate-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static JsonDocument History(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "history.json")));
}
