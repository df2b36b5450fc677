namespace Federate.Chaos;

/// <summary>
/// One network fault of a <see cref="FaultProxy"/>: on the <paramref name="Connection"/>-th accepted connection
/// (0-based), once <paramref name="AtByte"/> bytes went in one direction, either cut the connection (both sockets
/// reset) or stall that direction for <paramref name="Stall"/> before forwarding the rest.
/// </summary>
/// <param name="Connection">Which accepted connection (in accept order).</param>
/// <param name="Upstream">True: client to server bytes (uploads); false: server to client (tasks, models).</param>
/// <param name="AtByte">Byte offset in that direction where the fault fires (mid-chunk for almost any offset).</param>
/// <param name="Stall">Null: cut; otherwise how long the direction stops forwarding.</param>
public sealed record ProxyFault(int Connection, bool Upstream, long AtByte, TimeSpan? Stall)
{
    /// <summary>A short description for reports.</summary>
    public override string ToString()
        => $"{(Stall is { } s ? $"stall {s.TotalSeconds:0.0} s" : "cut")} conn {Connection} {(Upstream ? "up" : "down")} @{AtByte} B";
}
