using System.Net;
using Federate.Protocol;

namespace Federate.Server.Internal;

/// <summary>
/// The bulk transfer endpoint: plain HTTP/1.1 (TLS with a kit) on a port of its own beside the gRPC API, where
/// clients download a task's tensors and upload their replies as raw framed bytes (see <see cref="BulkFrames"/>).
/// HTTP/2 and gRPC cost several times the CPU per byte of a plain stream; control messages stay on gRPC.
/// </summary>
internal sealed class TransferEndpoint
{
    /// <summary>Path a client probes (204) before it relies on the endpoint.</summary>
    public const string ProbePath = "/fleet/v1/transfer";

    /// <summary>The bound port, or 0 when the server has no transfer endpoint (clients then use the gRPC streams).</summary>
    public int Port { get; set; }

    public static ListenOptions? Listen(KestrelServerOptions kestrel, IPAddress address, FleetServerOptions options)
    {
        ListenOptions? endpoint = null;
        kestrel.Listen(address, options.TransferPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (!options.Insecure && options.Identity is { } identity)
            {
                listen.UseHttps(identity.Kit.Certificate);
            }

            endpoint = listen;
        });
        return endpoint;
    }

    public static void Map(WebApplication app)
    {
        app.MapGet(ProbePath, () => Results.NoContent());
        app.MapGet(BulkFrames.TensorsPath, (HttpContext http) => Service(http).ServeTensorsAsync(http, http.Request.Query[BulkFrames.TaskParameter].ToString()));
        app.MapPost(BulkFrames.UpdatesPath, (HttpContext http) => Service(http).ReceiveUpdateAsync(http));
    }

    private static FleetService Service(HttpContext http) => ActivatorUtilities.CreateInstance<FleetService>(http.RequestServices);
}
