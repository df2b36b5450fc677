namespace Federate.Core;

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

/// <summary>Folds metric records into example-weighted means, one reply at a time.</summary>
public sealed class WeightedMetricFolder
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, (double Sum, double Weight)> _sums = new(StringComparer.Ordinal);
    private double _examples;

    /// <summary>Folds one reply's metrics.</summary>
    public void Add(MetricRecord metrics)
    {
        double w = metrics.TryGetValue(RecordNames.NumExamples, out var n) && n > 0 ? n : 1;
        _examples += metrics.TryGetValue(RecordNames.NumExamples, out var n2) ? n2 : 0;
        foreach (var (name, value) in metrics)
        {
            if (name == RecordNames.NumExamples || !double.IsFinite(value))
            {
                continue;
            }

            if (!_sums.TryGetValue(name, out var s))
            {
                _order.Add(name);
                s = (0, 0);
            }

            _sums[name] = (s.Sum + (w * value), s.Weight + w);
        }
    }

    /// <summary>The weighted means, plus the total <c>num_examples</c>.</summary>
    public MetricRecord Result()
    {
        var result = new MetricRecord();
        foreach (var name in _order)
        {
            var (sum, weight) = _sums[name];
            result[name] = sum / weight;
        }

        if (_examples > 0)
        {
            result[RecordNames.NumExamples] = _examples;
        }

        return result;
    }
}
