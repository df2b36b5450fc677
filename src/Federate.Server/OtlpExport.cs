using Federate.Core.Diagnostics;
using Federate.Server.Internal;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Federate.Server;

/// <summary>
/// Exports Federate's metrics and traces to an OpenTelemetry collector (OTLP over gRPC) from a process without an
/// ASP.NET Core host, such as a simulation (a server exports with <see cref="FleetServerOptions.OtlpEndpoint"/>).
/// </summary>
public static class OtlpExport
{
    /// <summary>
    /// Starts exporting the Federate meter and activity source to <paramref name="endpoint"/> until the returned
    /// object is disposed (which flushes what is pending).
    /// </summary>
    /// <param name="endpoint">The collector's OTLP endpoint, e.g. http://localhost:4317.</param>
    /// <param name="serviceName">The <c>service.name</c> resource attribute, e.g. "federate-sim".</param>
    /// <returns>The exporters; dispose to flush and stop.</returns>
    /// <exception cref="ArgumentException">The endpoint is not an absolute http(s) URL.</exception>
    public static IDisposable Start(Uri endpoint, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"'otlp_endpoint' must be an absolute http:// or https:// URL, got '{endpoint}'", nameof(endpoint));
        }

        var resource = ResourceBuilder.CreateDefault().AddService(serviceName);
        var meters = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(FederateDiagnostics.MeterName)
            .AddReader(TelemetrySetup.CreateMetricReader(endpoint)).Build();
        var tracer = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(FederateDiagnostics.ActivitySourceName)
            .AddProcessor(TelemetrySetup.CreateTraceProcessor(endpoint)).Build();
        return new Providers(meters, tracer);
    }

    private sealed class Providers(MeterProvider meters, TracerProvider tracer) : IDisposable
    {
        public void Dispose()
        {
            tracer.Dispose();
            meters.Dispose();
        }
    }
}
