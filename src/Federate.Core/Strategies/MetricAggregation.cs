namespace Federate.Core.Strategies;

/// <summary>Helpers to aggregate reply metrics.</summary>
public static class MetricAggregation
{
    /// <summary>
    /// The example-weighted mean of every metric over replies that carry content; <c>num_examples</c> itself is
    /// summed. Replies without <c>num_examples</c> weigh 1.
    /// </summary>
    public static MetricRecord WeightedMean(IEnumerable<Message> replies)
    {
        var folder = new WeightedMetricFolder();
        foreach (var reply in replies)
        {
            if (reply.Content is { } content && content.Metrics.TryGetValue(RecordNames.Metrics, out var metrics))
            {
                folder.Add(metrics);
            }
        }

        return folder.Result();
    }

    /// <summary>Reads <c>num_examples</c> from a reply; returns null when it is missing or not positive.</summary>
    public static double? NumExamples(Message reply) =>
        reply.Content is { } c && c.Metrics.TryGetValue(RecordNames.Metrics, out var m) && m.TryGetValue(RecordNames.NumExamples, out var n) && n > 0 && double.IsFinite(n)
            ? n
            : null;
}
