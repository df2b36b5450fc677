using System.CommandLine;
using System.Globalization;

namespace Federate.Cli.Commands;

/// <summary>Parsing helpers shared by commands.</summary>
internal static class CommonOptions
{
    public static Option<T> Create<T>(string name, string description, T defaultValue, string? helpName = null) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = helpName,
    };

    public static Option<T?> CreateOptional<T>(string name, string description, string? helpName = null) => new(name)
    {
        Description = description,
        HelpName = helpName,
    };

    /// <summary>Parses "METRIC=VALUE" (e.g. accuracy=0.95).</summary>
    public static (string Metric, double Value)? ParseTarget(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || !double.TryParse(text[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new UsageException($"--target must look like METRIC=VALUE (e.g. accuracy=0.95), got '{text}'");
        }

        return (text[..eq], value);
    }
}
