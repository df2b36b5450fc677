using System.CommandLine;
using Federate.Server;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

/// <summary>Observability options: <c>--otlp-endpoint</c> (server, sim) and <c>--log-format</c> (server, client).</summary>
internal sealed class TelemetryCliOptions(bool otlp = true, bool logFormat = true) : OptionGroup
{
    private readonly Option<string?> _otlp = CommonOptions.CreateOptional<string>("--otlp-endpoint", "Export metrics and traces (meter and activity source 'Federate') to this OpenTelemetry collector's OTLP/gRPC endpoint, e.g. http://localhost:4317.", "URL");
    private readonly Option<string> _logFormat = CommonOptions.Create("--log-format", "Log lines as text or json (one JSON object per line: Timestamp, EventId, LogLevel, Category, Message, State).", "text", "text|json");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => (otlp, logFormat) switch
    {
        (true, true) => [_otlp, _logFormat],
        (true, false) => [_otlp],
        (false, true) => [_logFormat],
        _ => [],
    };

    /// <summary>The collector's endpoint, or null when not given.</summary>
    public Uri? OtlpEndpoint(ParseResult parse)
    {
        var text = otlp ? parse.GetValue(_otlp) : null;
        if (text is null)
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new UsageException($"--otlp-endpoint must be an absolute http:// or https:// URL such as http://localhost:4317, got '{text}'");
    }

    /// <summary>Starts exporting to the collector when <c>--otlp-endpoint</c> is given (dispose to flush); else null.</summary>
    public IDisposable? StartExport(ParseResult parse, string serviceName) =>
        OtlpEndpoint(parse) is { } endpoint ? OtlpExport.Start(endpoint, serviceName) : null;

    /// <summary>True for <c>--log-format json</c>; rejects other values than text and json.</summary>
    public bool JsonLogs(ParseResult parse)
    {
        var format = logFormat ? parse.GetValue(_logFormat) : "text";
        return format switch
        {
            "text" => false,
            "json" => true,
            _ => throw new UsageException($"--log-format must be text or json, got '{format}'"),
        };
    }

    /// <summary>Console logging in the chosen format (see <see cref="DeployOptions.ConfigureLogging"/>).</summary>
    public void ConfigureLogging(ParseResult parse, ILoggingBuilder logging, bool verbose) =>
        DeployOptions.ConfigureLogging(logging, verbose, JsonLogs(parse));
}
