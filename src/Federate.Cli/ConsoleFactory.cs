using Spectre.Console;

namespace Federate.Cli;

/// <summary>Creates Spectre consoles over the tool's writers (stdout, or stderr when stdout carries JSON).</summary>
internal static class ConsoleFactory
{
    public static IAnsiConsole Create(TextWriter writer)
    {
        bool isConsole = ReferenceEquals(writer, Console.Out) ? !Console.IsOutputRedirected : ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = isConsole ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isConsole ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isConsole ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isConsole)
        {
            // Logs and pipes: do not wrap lines at 80 columns.
            console.Profile.Width = 160;
        }

        return console;
    }
}
