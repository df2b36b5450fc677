using System.Text.Json;

namespace Federate.Core.Formats;

/// <summary>Describes why a JSON file could not be read in plain words, without the parser's internals.</summary>
public static class JsonProblem
{
    /// <summary>
    /// "it is not complete JSON (cut off or damaged near line N)" for a syntax error, "'field' has the wrong type" for a
    /// value of the wrong kind.
    /// </summary>
    public static string Describe(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var field = exception.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (field is not null && exception.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"'{field}' has the wrong type";
        }

        return exception.LineNumber is { } line
            ? $"it is not complete JSON (cut off or damaged near line {line + 1})"
            : "it is not complete JSON (cut off or damaged)";
    }
}
