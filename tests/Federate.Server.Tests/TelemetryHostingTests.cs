using System.Net;
using Federate.Server;
using Federate.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Federate.Server.Tests;

/// <summary>An embedded server's Prometheus endpoint and OTLP setting.</summary>
public sealed class TelemetryHostingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MapFederateInspector_Metrics_ServesPrometheusTextWithTheFederateMeter()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1));
        builder.Services.AddFederateServer(o => o.Insecure = true);
        await using var app = builder.Build();
        app.MapFederateInspector();
        await app.StartAsync().WaitAsync(Limit);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var http = new HttpClient { BaseAddress = new Uri(address) };
        using var response = await http.GetAsync("metrics").WaitAsync(Limit);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("target_info{service_name=\"federate-server\"", text, StringComparison.Ordinal);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Theory]
    [InlineData("ftp://collector:4317")]
    [InlineData("file:///tmp/otlp")]
    public async Task AddFederateServer_OtlpEndpointNotHttp_FailsAtStartWithOneLine(string endpoint)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddFederateServer(o =>
        {
            o.Insecure = true;
            o.OtlpEndpoint = new Uri(endpoint);
        });
        await using var app = builder.Build();
        app.MapFederateFleet();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync().WaitAsync(Limit));

        Assert.Equal($"'otlp_endpoint' must be an absolute http:// or https:// URL, got '{new Uri(endpoint)}'", ex.Message);
    }

    [Fact]
    public void OtlpExport_RelativeEndpoint_ThrowsNamingTheSetting()
    {
        var ex = Assert.Throws<ArgumentException>(() => OtlpExport.Start(new Uri("collector", UriKind.Relative), "test"));

        Assert.StartsWith("'otlp_endpoint' must be an absolute http:// or https:// URL, got 'collector'", ex.Message, StringComparison.Ordinal);
    }
}
