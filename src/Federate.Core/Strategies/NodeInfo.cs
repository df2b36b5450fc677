namespace Federate.Core.Strategies;

/// <summary>A node the grid can reach.</summary>
/// <param name="NodeId">Stable id of the node within the grid (never 0, which is the server).</param>
/// <param name="Name">Human-readable name (e.g. "client-3" or a certificate CN).</param>
/// <param name="PartitionId">The data partition a simulated node trains on, when known.</param>
public sealed record NodeInfo(long NodeId, string Name, int? PartitionId = null);
