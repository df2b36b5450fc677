namespace Federate.Server;

/// <summary>
/// Settings of a Federate server: of <see cref="FleetServer.StartAsync"/>, or of
/// <see cref="Hosting.FederateServerServiceCollectionExtensions.AddFederateServer(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{FleetServerOptions}?)"/>
/// in an ASP.NET Core app, where the app's own endpoints replace <see cref="Port"/>, <see cref="Host"/>,
/// <see cref="FlowerPort"/>, <see cref="ConfigureFlowerEndpoint"/> and <see cref="InspectorOptions.Port"/>.
/// </summary>
public sealed class FleetServerOptions
{
    /// <summary>TCP port to listen on; 0 picks a free one (see <see cref="FleetServer.Port"/>). Default 9092.</summary>
    public int Port { get; set; } = 9092;

    /// <summary>Address to bind. Default all interfaces ("0.0.0.0"); tests use "127.0.0.1".</summary>
    public string Host { get; set; } = "0.0.0.0";

    /// <summary>
    /// Serve plain HTTP/2 (h2c) without TLS, kits or session tokens, for local development. Must be asked for; the
    /// server warns. Otherwise <see cref="Identity"/> is required. Default false.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>The run id (training_uuid of notifications). Default a new GUID.</summary>
    public string RunId { get; set; } = Guid.NewGuid().ToString();

    /// <summary>
    /// The id given to the first node that registers (then 2nd: +1, ...). A resumed run starts above every id an
    /// earlier server process of the run handed out, so a client still holding an old id is told to register again
    /// instead of being mistaken for another node. Default 1.
    /// </summary>
    public long FirstNodeId { get; set; } = 1;

    /// <summary>How often clients send heartbeats. Default 2 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A node that sends nothing for this long is dropped. Default 3 heartbeat intervals.</summary>
    public TimeSpan? NodeExpiry { get; set; }

    /// <summary>How long a PullTask long poll stays open with nothing to send. Default 30 s.</summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tensor chunk size in bytes sent to clients. Default 1 MiB.</summary>
    public int ChunkSize { get; set; } = Protocol.FleetProtocol.DefaultChunkSize;

    /// <summary>
    /// An OpenTelemetry collector's OTLP endpoint (gRPC, e.g. http://collector:4317) that receives the server's metrics
    /// and traces (the Federate meter and activity source). Default null: no export (the inspector's Prometheus
    /// <c>/metrics</c> endpoint is served either way).
    /// </summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>
    /// Port of the bulk transfer endpoint (plain HTTP/1.1, TLS with a kit) that moves tensors beside the gRPC API at
    /// close to the speed of the network; clients learn it when they register. 0 (the default) picks any free port,
    /// -1 turns it off (tensors then travel in the gRPC streams, as do they for clients that cannot reach it).
    /// </summary>
    public int TransferPort { get; set; }

    /// <summary>gRPC message compression: "gzip" or "none". Default "none" (tensors compress poorly).</summary>
    public string Compression { get; set; } = "none";

    /// <summary>URLs that receive every lifecycle notification as an HTTP POST (design 4's JSON).</summary>
    public IList<string> Webhooks { get; } = [];

    /// <summary>Folder for update spool files (deleted when closed). Default the system temp folder.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>
    /// Disk budget in bytes for train updates received but not yet folded (spool files the size of the model); further
    /// uploads wait, held back by HTTP/2 flow control. One update, and the update folded next, are always admitted.
    /// Default 8 GiB.
    /// </summary>
    public long MaxSpoolBytes { get; set; } = 8L << 30;

    /// <summary>
    /// Train updates read at once (each holds up to <see cref="Protocol.ChunkStreamReader.Depth"/> + 1 chunk buffers
    /// while it is read, so this bounds the server's receive buffers whatever the number of clients); further uploads
    /// wait unread, held back by flow control. The update folded next is always admitted. Default 4.
    /// </summary>
    public int MaxConcurrentUploads { get; set; } = 4;

    /// <summary>How long, after the run, the server waits for connected clients to learn that it finished. Default 3 s.</summary>
    public TimeSpan FinishGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Checks admin credentials for admin-only HTTP actions (inspector). Null: admin actions are refused, except on an
    /// insecure development server, where they are open (and the server warns). Default null.
    /// </summary>
    public IAdminAuthenticator? AdminAuthenticator { get; set; }

    /// <summary>
    /// TCP port of Flower's <c>FlowerService/Join</c> stream (Flower 1.5 to 1.27 clients), served beside the native
    /// API on the same <see cref="Host"/>; 0 picks a free one (see <see cref="FleetServer.FlowerPort"/>). Null: not
    /// served. Default null.
    /// </summary>
    public int? FlowerPort { get; set; }

    /// <summary>
    /// Config keys left out of the instructions to Flower nodes (legacy clients and SuperNodes), as a Flower server
    /// sends only what its server app configures: <c>federate server</c> puts <c>local_epochs</c>, <c>lr</c> and
    /// <c>batch_size</c> here unless the operator set them. Native clients still get them. Default empty.
    /// </summary>
    public ISet<string> FlowerOmittedConfigKeys { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The Flower app that SuperNodes (<c>flower-supernode</c>, Flower's Fleet API on the <see cref="FlowerPort"/>)
    /// download and run: an app folder (bundled as <c>flwr build</c> does) or a <c>.fab</c> file. Null: SuperNodes
    /// can register but are refused the run (they need an app). Default null.
    /// </summary>
    public string? FlowerApp { get; set; }

    /// <summary>
    /// Hook to secure the Flower endpoint (TLS, client certificates): called with the Kestrel listen options of the
    /// Flower port. Null: plain HTTP/2 (h2c), and the server warns. Default null.
    /// </summary>
    public Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions>? ConfigureFlowerEndpoint { get; set; }

    /// <summary>
    /// The inspector (web dashboard and JSON API on its own HTTP endpoint), or null for none. Default null.
    /// </summary>
    public InspectorOptions? Inspector { get; set; }

    /// <summary>
    /// The server's identity from its startup kit (<c>--kit</c>): TLS with the kit's certificate, design 5's
    /// challenge-response registration, session tokens on every call. Required unless <see cref="Insecure"/>.
    /// </summary>
    public Federate.Security.ServerIdentity? Identity { get; set; }

    /// <summary>With <see cref="Identity"/>: encrypt tensor payloads end to end with a per-session AES-256-GCM key. Default true.</summary>
    public bool EncryptPayloads { get; set; } = true;

    /// <summary>With <see cref="Identity"/>: registration calls (hello and register) allowed per remote address per minute. Default 120.</summary>
    public int RegistrationsPerMinute { get; set; } = 120;

    /// <summary>The effective node expiry.</summary>
    public TimeSpan EffectiveNodeExpiry => NodeExpiry ?? (HeartbeatInterval * 3);

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!Insecure && Identity is null)
        {
            return "give --kit DIR (the server's startup kit from 'federate provision') for TLS, or --insecure for a plain development server";
        }

        if (Port is < 0 or > 65535)
        {
            return $"--port must be in [0, 65535], got {Port}";
        }

        if (FlowerPort is < 0 or > 65535)
        {
            return $"--flower-port must be in [0, 65535], got {FlowerPort}";
        }

        if (FlowerApp is not null && FlowerPort is null)
        {
            return "--flower-app needs --flower-port (SuperNodes connect to the Flower port)";
        }

        if (FlowerApp is not null)
        {
            try
            {
                _ = Flower.FlowerAppBundle.Load(FlowerApp);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                return ex.Message;
            }
        }

        if (FlowerPort is > 0 && FlowerPort == Port)
        {
            return $"--flower-port must differ from --port ({Port})";
        }

        if (HeartbeatInterval <= TimeSpan.Zero)
        {
            return "--heartbeat-interval must be positive";
        }

        if (EffectiveNodeExpiry <= HeartbeatInterval)
        {
            return "--node-expiry must be longer than --heartbeat-interval";
        }

        if (ChunkSize < 1024 || ChunkSize > Protocol.FleetProtocol.MaxChunkSize)
        {
            return $"--chunk-size must be in [1024, {Protocol.FleetProtocol.MaxChunkSize}] bytes, got {ChunkSize}";
        }

        if (TransferPort is < -1 or > 65535)
        {
            return $"'transfer_port' must be a port (0 = any free port, -1 = off), got {TransferPort}";
        }

        if (MaxSpoolBytes < 0)
        {
            return $"--max-spool-mb must be non-negative, got {MaxSpoolBytes >> 20}";
        }

        if (MaxConcurrentUploads < 1)
        {
            return $"--max-concurrent-uploads must be at least 1, got {MaxConcurrentUploads}";
        }

        if (OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || otlp.Scheme is not ("http" or "https")))
        {
            return $"'otlp_endpoint' must be an absolute http:// or https:// URL, got '{otlp}'";
        }

        if (Compression is not ("gzip" or "none"))
        {
            return $"--compression must be gzip or none, got '{Compression}'";
        }

        foreach (var url in Webhooks)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return $"--webhook must be an http(s) URL, got '{url}'";
            }
        }

        return null;
    }
}
