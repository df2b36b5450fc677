using System.CommandLine;
using System.Text.RegularExpressions;

namespace Federate.Cli;

/// <summary>
/// The library names a setting in its messages by its key in quotes (<c>'local_epochs'</c>, as in history.json's
/// config); on the command line the same setting is a flag (<c>--local-epochs</c>). This maps the one to the other,
/// for the options the command being run has, so the library never needs to know the command line.
/// </summary>
internal static partial class OptionNames
{
    /// <summary>Replaces every quoted setting key that is an option of <paramref name="command"/> (or its parents) by the flag.</summary>
    public static string ToFlags(string message, Command command)
    {
        ArgumentNullException.ThrowIfNull(message);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            foreach (var option in c.Options)
            {
                flags.Add(option.Name);
            }
        }

        return SettingKey().Replace(message, m =>
        {
            var flag = "--" + m.Groups[1].Value.Replace('_', '-');
            return flags.Contains(flag) ? flag : m.Value;
        });
    }

    [GeneratedRegex("'([a-z][a-z0-9_]*)'")]
    private static partial Regex SettingKey();
}
