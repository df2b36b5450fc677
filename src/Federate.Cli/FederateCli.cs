using System.CommandLine;
using Federate.Cli.Commands;

namespace Federate.Cli;

/// <summary>The federate command line: builds the command tree and runs it with one-line errors.</summary>
internal static class FederateCli
{
    public static RootCommand BuildRoot(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Federate: federated learning for .NET. Train one model across sites without moving their data.");
        root.Subcommands.Add(SimCommand.Create(output, error));
        root.Subcommands.Add(ReportCommand.Create(output));
        root.Subcommands.Add(PrivacyCommand.Create(output));
        root.Subcommands.Add(ServerCommand.Create(output, error));
        root.Subcommands.Add(ClientCommand.Create(output, error));
        root.Subcommands.Add(RunsCommand.Create(output));
        root.Subcommands.Add(ProvisionCommand.Create(output));
        root.Subcommands.Add(ProvisionCommand.CreateAdmin(output));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = BuildRoot(output, error);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var name = string.Join(' ', CommandPath(parse.CommandResult));
            await error.WriteLineAsync($"error: {parse.Errors[0].Message} Run '{name} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // Ctrl+C and SIGTERM cancel the command's token from a thread-pool thread: the cancellation callbacks (gRPC
        // calls, the host's shutdown) never run on the runtime's signal thread, where one that blocks would hold
        // every later signal too (System.CommandLine's own handler cancels on that thread and then waits there).
        // A second signal is not handled, so its default action ends the process at once.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int signals = 0;
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
        {
            if (Interlocked.Increment(ref signals) == 1)
            {
                context.Cancel = true;
                _ = Task.Run(stop.Cancel, CancellationToken.None);
            }
        }

        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var (code, message) = Describe(ex);
            await error.WriteLineAsync($"error: {OptionNames.ToFlags(message, parse.CommandResult.Command)}").ConfigureAwait(false);
            if (Environment.GetEnvironmentVariable("FEDERATE_DEBUG") == "1")
            {
                await error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
            }

            return code;
        }
    }

    /// <summary>"federate", then the subcommands down to <paramref name="result"/> (e.g. federate privacy epsilon).</summary>
    private static List<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(r.Parent is null ? "federate" : r.Command.Name);
        }

        names.Reverse();
        return names;
    }

    /// <summary>Turns an exception into an exit code and a single line.</summary>
    internal static (int Code, string Message) Describe(Exception ex)
    {
        var message = OneLine(ex.Message);
        return ex switch
        {
            UsageException or ArgumentException or KeyNotFoundException => (ExitCodes.Usage, message),
            Learning.Data.DatasetException or IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException => (ExitCodes.Failure, message),
            _ => (ExitCodes.Internal, $"internal error ({ex.GetType().Name}): {message}; set FEDERATE_DEBUG=1 for details"),
        };
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();

        // ArgumentException appends " (Parameter 'x')"; the message already names the option.
        var p = line.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return p > 0 ? line[..p] : line;
    }
}
