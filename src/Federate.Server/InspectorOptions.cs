using Federate.State;

namespace Federate.Server;

/// <summary>
/// Settings of the inspector: a web dashboard and JSON API (<c>/api</c>) served on their own HTTP/1.1 endpoint beside
/// the fleet port, so browsers can reach them (the fleet port speaks only HTTP/2).
/// </summary>
public sealed class InspectorOptions
{
    /// <summary>TCP port of the inspector; 0 picks a free one. Default 9093.</summary>
    public int Port { get; set; } = 9093;

    /// <summary>
    /// Address the inspector binds (an IP address; <c>0.0.0.0</c> for every interface). Default <c>127.0.0.1</c>: the
    /// dashboard is reachable from this machine only unless asked otherwise, whatever address the fleet port binds.
    /// </summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The address to bind (<see cref="Host"/> parsed; <c>*</c> and <c>0.0.0.0</c> mean every interface).</summary>
    internal System.Net.IPAddress Address =>
        Host is "*" or "0.0.0.0" ? System.Net.IPAddress.Any : Host == "localhost" ? System.Net.IPAddress.Loopback : System.Net.IPAddress.Parse(Host);

    /// <summary>
    /// Rounds start only when an admin asks ("next round" or "start run"); otherwise they run as soon as enough
    /// clients are connected. Default false.
    /// </summary>
    public bool Manual { get; set; }

    /// <summary>Design 2's demo: enables the demo-only actions (generate synthetic data on every client, view all client data). Default false.</summary>
    public bool Demo { get; set; }

    /// <summary>
    /// Keep the latest train update of every client so an admin can download it (memory O(clients x model); updates
    /// are then not folded while they stream in). Refused when <see cref="SecureAggregation"/> is on. Default false.
    /// </summary>
    public bool KeepClientWeights { get; set; }

    /// <summary>The server aggregates securely and must never reveal an individual update. Default false.</summary>
    public bool SecureAggregation { get; set; }

    /// <summary>Safetensors metadata of model downloads (format, model, dataset, ...).</summary>
    public IDictionary<string, string> ModelMetadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The state store, when there is one: its runs and events appear in the API. In an app that calls AddFederateServer,
    /// registering the <see cref="State.StateStore"/> in the container does the same (this property wins when set).
    /// </summary>
    public StateStore? StateStore { get; set; }

    /// <summary>How many recent events the inspector keeps in memory. Default 1000.</summary>
    public int EventCapacity { get; set; } = 1000;

    /// <summary>Checks the options; returns a one-line problem or null.</summary>
    public string? Validate()
    {
        if (Port is < 0 or > 65535)
        {
            return $"--inspector-port must be in [0, 65535], got {Port}";
        }

        if (Host is not ("*" or "localhost") && !System.Net.IPAddress.TryParse(Host, out _))
        {
            return $"'inspector_host' must be an IP address (127.0.0.1, 0.0.0.0 for every interface), got '{Host}'";
        }

        if (KeepClientWeights && SecureAggregation)
        {
            return "--keep-client-weights cannot be used with secure aggregation: the server must never see individual updates";
        }

        return EventCapacity < 1 ? "the inspector's event capacity must be at least 1" : null;
    }
}
