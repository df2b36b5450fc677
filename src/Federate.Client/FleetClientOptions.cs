using Microsoft.Extensions.Logging;

namespace Federate.Client;

/// <summary>Settings of a <see cref="FleetClient"/>.</summary>
public sealed class FleetClientOptions
{
    /// <summary>The server as HOST:PORT. Required.</summary>
    public string Server { get; set; } = "";

    /// <summary>This node's name in the server's log. Default the machine name.</summary>
    public string Name { get; set; } = Environment.MachineName;

    /// <summary>The data partition this node trains on, when it has one; lets the server fold in a fixed order.</summary>
    public int? PartitionId { get; set; }

    /// <summary>Plain HTTP/2 (h2c) without TLS, for local development. Must be asked for. Default false.</summary>
    public bool Insecure { get; set; }

    /// <summary>
    /// The client's identity from its startup kit (<c>--kit</c>): TLS checked against the project CA only, design 5's
    /// challenge-response registration, session tokens and payload encryption. Required unless <see cref="Insecure"/>.
    /// </summary>
    public Federate.Security.ClientIdentity? Identity { get; set; }

    /// <summary>gRPC message compression: "gzip" or "none". Default "none".</summary>
    public string Compression { get; set; } = "none";

    /// <summary>First wait between registration attempts while the server is unreachable; doubles up to <see cref="MaxRetryInterval"/>. Default 1 s.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between registration attempts. Default 10 s.</summary>
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the server may stay unreachable (counted from the first failed attempt after the last successful
    /// call) before the client gives up with a <see cref="FleetClientException"/>. Null, the default, keeps trying for
    /// as long as the client runs, so a server that is restarted (and resumes its run) finds its clients again, as
    /// Flower's clients do; set it when nothing restarts a server that is gone for good (for example a server killed
    /// after its run finished, before it could tell the clients).
    /// </summary>
    public TimeSpan? GiveUpAfter { get; set; }

    /// <summary>Deadline of unary calls (register, heartbeat, quit) and of connecting. Default 10 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one PullTask long poll may stay open with nothing to receive. Default 30 s.</summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tensor chunk size in bytes for uploads. Default 1 MiB.</summary>
    public int ChunkSize { get; set; } = Protocol.FleetProtocol.DefaultChunkSize;

    /// <summary>
    /// Moves tensors through the server's bulk transfer endpoint (plain HTTP/1.1 beside gRPC, several times faster)
    /// when the server has one and it answers; false keeps every tensor in the gRPC streams. Default true.
    /// </summary>
    public bool UseTransferEndpoint { get; set; } = true;

    /// <summary>
    /// Before a task's tensors of 4 MB or more are allocated, the models of earlier tasks are collected and their
    /// memory returned to the system at once, so the client's peak is the received model and its trained copy. The
    /// price is a page fault on every page of each new model (about 30% longer rounds of a 256 MB noop model on a
    /// 2-core virtual machine). False collects them without returning the memory: the runtime hands it back only
    /// gradually, so up to one more model-sized block is resident at the peak, and rounds are faster. Applies while
    /// this is the only client running in the process (with virtual clients each collection would also compact the
    /// others' live models). Default true.
    /// </summary>
    public bool ReturnMemoryBetweenTasks { get; set; } = true;

    /// <summary>
    /// The level of the per-task log lines: task received, reply submitted, and the transfer rate of a task or update
    /// of at least 1 MiB (smaller transfers log theirs at debug level). Default information; `federate client
    /// --virtual-clients N` with N &gt; 1 lowers it to debug (shown with --verbose): a hundred clients in one process
    /// wrote 7 lines per client and round.
    /// </summary>
    public LogLevel TaskLogLevel { get; set; } = LogLevel.Information;

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (!TryParseServer(Server, out _, out _))
        {
            return $"--server must look like HOST:PORT, got '{Server}'";
        }

        if (!Insecure && Identity is null)
        {
            return "give --kit DIR (this site's startup kit from 'federate provision') to connect over TLS, or --insecure for a plain development server";
        }

        if (Compression is not ("gzip" or "none"))
        {
            return $"--compression must be gzip or none, got '{Compression}'";
        }

        if (RetryInterval <= TimeSpan.Zero || MaxRetryInterval < RetryInterval)
        {
            return "--retry-interval must be positive and at most the maximum retry interval";
        }

        if (GiveUpAfter is { } giveUp && giveUp <= TimeSpan.Zero)
        {
            return $"--give-up-after must be positive (leave it out to keep trying), got {giveUp.TotalSeconds:0.###}";
        }

        if (CallTimeout <= TimeSpan.Zero)
        {
            return "--call-timeout must be positive";
        }

        if (ChunkSize < 1024 || ChunkSize > Protocol.FleetProtocol.MaxChunkSize)
        {
            return $"--chunk-size must be in [1024, {Protocol.FleetProtocol.MaxChunkSize}] bytes, got {ChunkSize}";
        }

        return null;
    }

    internal static bool TryParseServer(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = text[..colon].Trim('[', ']');
        return host.Length > 0;
    }
}
