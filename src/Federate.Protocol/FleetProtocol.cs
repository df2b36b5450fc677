namespace Federate.Protocol;

/// <summary>Constants of the native fleet API (<c>proto/fleet.proto</c>, package <c>federate.fleet.v1</c>).</summary>
public static class FleetProtocol
{
    /// <summary>The protocol version this build speaks. Peers with another major version are refused.</summary>
    public const uint Version = 1;

    /// <summary>Default tensor chunk size: 1 MiB (measured best here: 256 KiB to 1 MiB, see docs/protocol.md).</summary>
    public const int DefaultChunkSize = 1 << 20;

    /// <summary>Largest chunk a peer may send: 8 MiB.</summary>
    public const int MaxChunkSize = 8 << 20;

    /// <summary>Largest gRPC message accepted: a maximal chunk plus framing.</summary>
    public const int MaxMessageSize = MaxChunkSize + (1 << 20);

    /// <summary>Length of a SHA-256 digest in bytes.</summary>
    public const int DigestLength = 32;

    /// <summary>
    /// Tasks and updates of at most this many tensor bytes (32 KiB) travel in the gRPC streams even when the transfer
    /// endpoint is open: for a small model the endpoint's extra request each way costs more than the bytes.
    /// </summary>
    public const long InlineTensorBytes = 32 << 10;

    /// <summary>Returns null when <paramref name="peerVersion"/> is compatible, or a one-line message saying why not.</summary>
    public static string? CheckVersion(uint peerVersion, string peer) => peerVersion == Version
        ? null
        : peerVersion == 0
            ? $"the {peer} sent no protocol version; this side speaks federate fleet protocol v{Version}"
            : $"the {peer} speaks federate fleet protocol v{peerVersion} but this side speaks v{Version}; upgrade the older side";
}
