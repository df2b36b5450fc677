using System.Diagnostics.Metrics;
using Federate.Core.Diagnostics;

namespace Federate.Server.Internal;

/// <summary>The server's instruments on the Federate meter (see <see cref="FederateDiagnostics"/> for the names).</summary>
internal static class ServerTelemetry
{
    private static readonly KeyValuePair<string, object?> Receive = new("network.io.direction", "receive");
    private static readonly KeyValuePair<string, object?> Transmit = new("network.io.direction", "transmit");
    private static readonly UpDownCounter<long> Connected = FederateDiagnostics.Meter.CreateUpDownCounter<long>("federate.nodes.connected", "{node}", "Nodes connected to the server.");
    private static readonly Counter<long> NetworkIo = FederateDiagnostics.Meter.CreateCounter<long>("federate.network.io", "By", "Tensor bytes received from and sent to nodes.");

    public static void NodeJoined() => Connected.Add(1);

    public static void NodeLeft() => Connected.Add(-1);

    public static void Received(long bytes) => NetworkIo.Add(bytes, Receive);

    public static void Sent(long bytes) => NetworkIo.Add(bytes, Transmit);
}
