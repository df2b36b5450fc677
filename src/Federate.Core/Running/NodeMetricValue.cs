namespace Federate.Core.Running;

/// <summary>
/// A metric one node reported that is not a number (a string or bytes, such as a Flower client's
/// <c>{"device": "cuda:0"}</c>): it cannot be averaged, so the history keeps each node's value. A reply carries such
/// metrics in its ConfigRecord <see cref="RecordNames.Metrics"/>.
/// </summary>
/// <param name="NodeId">The node that reported it.</param>
/// <param name="Key">The metric's name.</param>
/// <param name="Value">A string or bytes value.</param>
public sealed record NodeMetricValue(long NodeId, string Key, ConfigValue Value)
{
    /// <summary>
    /// The string and bytes values of <paramref name="reply"/>'s ConfigRecord <see cref="RecordNames.Metrics"/>, by
    /// key (none for an error reply or a reply without that record).
    /// </summary>
    public static IEnumerable<NodeMetricValue> Of(Message reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Error is not null || reply.Content?.Configs.GetValueOrDefault(RecordNames.Metrics) is not { } values)
        {
            return [];
        }

        return values.Where(kv => kv.Value.Kind is ConfigValueKind.String or ConfigValueKind.Bytes)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new NodeMetricValue(reply.Metadata.SourceNodeId, kv.Key, kv.Value))
            .ToList();
    }

    /// <summary>Orders values by node, then key (the fold order of nodes is not the arrival order).</summary>
    public static IReadOnlyList<NodeMetricValue> Sorted(IEnumerable<NodeMetricValue> values) =>
        [.. values.OrderBy(v => v.NodeId).ThenBy(v => v.Key, StringComparer.Ordinal)];

    /// <summary>The value as text: a string as it is, bytes as <c>base64:...</c>.</summary>
    public string Display => Value.Kind == ConfigValueKind.Bytes ? "base64:" + Convert.ToBase64String(Value.AsBytes()) : Value.AsString();
}
