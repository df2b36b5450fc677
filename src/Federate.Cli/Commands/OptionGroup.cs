using System.CommandLine;

namespace Federate.Cli.Commands;

/// <summary>
/// A set of options that several commands take with the same meaning (run settings, privacy, local training,
/// security...): declared once in a subclass, added to a command with <see cref="AddTo"/> and read back through the
/// subclass's typed getters.
/// </summary>
internal abstract class OptionGroup
{
    /// <summary>The group's options in the order they appear in help.</summary>
    protected abstract IEnumerable<Option> Options { get; }

    /// <summary>Adds every group's options to <paramref name="command"/>.</summary>
    public static void AddAll(Command command, params OptionGroup[] groups)
    {
        foreach (var group in groups)
        {
            group.AddTo(command);
        }
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in Options)
        {
            command.Options.Add(option);
        }
    }
}
