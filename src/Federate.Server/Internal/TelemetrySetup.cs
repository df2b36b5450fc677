using Federate.Core.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Federate.Server.Internal;

/// <summary>
/// OpenTelemetry for a Federate server: the Federate meter to the Prometheus exporter (scraped at the inspector's
/// <c>/metrics</c>), and, when <see cref="FleetServerOptions.OtlpEndpoint"/> is set, metrics and traces to an OTLP
/// collector. Composes with the application's own <c>AddOpenTelemetry()</c>.
/// </summary>
internal static class TelemetrySetup
{
    /// <summary>How often metrics are pushed to an OTLP collector.</summary>
    public const int OtlpExportIntervalMilliseconds = 5000;

    public static void AddTo(IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("federate-server", serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString()))
            // No scrape cache: each scrape shows the instruments as they are (a scrape costs little at this size).
            .WithMetrics(metrics => metrics.AddMeter(FederateDiagnostics.MeterName).AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(_ => { });
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            if (OtlpEndpoint(sp) is { } endpoint)
            {
                metrics.AddReader(CreateMetricReader(endpoint));
            }
        });
        services.ConfigureOpenTelemetryTracerProvider((sp, tracing) =>
        {
            if (OtlpEndpoint(sp) is { } endpoint)
            {
                tracing.AddSource(FederateDiagnostics.ActivitySourceName).AddProcessor(CreateTraceProcessor(endpoint));
            }
        });
    }

    /// <summary>
    /// The configured endpoint. The Prometheus endpoint's mapping builds the meter provider before the host starts:
    /// invalid server options are then left to the start-up validation, which reports them as one line.
    /// </summary>
    private static Uri? OtlpEndpoint(IServiceProvider sp)
    {
        try
        {
            return sp.GetRequiredService<IOptions<FleetServerOptions>>().Value.OtlpEndpoint;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    /// <summary>A reader pushing metrics to the collector at <paramref name="endpoint"/> every few seconds.</summary>
    public static MetricReader CreateMetricReader(Uri endpoint) =>
        new PeriodicExportingMetricReader(new OtlpMetricExporter(Options(endpoint)), OtlpExportIntervalMilliseconds);

    /// <summary>A batching processor sending finished activities to the collector at <paramref name="endpoint"/>.</summary>
    public static BaseProcessor<System.Diagnostics.Activity> CreateTraceProcessor(Uri endpoint) =>
        new BatchActivityExportProcessor(new OtlpTraceExporter(Options(endpoint)));

    private static OtlpExporterOptions Options(Uri endpoint) => new() { Endpoint = endpoint, Protocol = OtlpExportProtocol.Grpc };
}
