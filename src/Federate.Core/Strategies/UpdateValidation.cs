namespace Federate.Core.Strategies;

/// <summary>Checks a train reply before it is folded.</summary>
public static class UpdateValidation
{
    /// <summary>
    /// Checks that a reply carries a model with the global model's layout, finite values and a positive
    /// <c>num_examples</c>. Returns a one-line problem, or null with the parameters and weight.
    /// </summary>
    public static string? Validate(Message reply, ArrayRecord global, out ArrayRecord? parameters, out double weight)
    {
        var problem = ValidateLayout(reply, global, out parameters, out weight);
        if (problem is not null)
        {
            return problem;
        }

        foreach (var (name, tensor) in parameters!)
        {
            if (!AggregationKernels.AllFinite(tensor))
            {
                parameters = null;
                weight = 0;
                return NotFinite(name);
            }
        }

        return null;
    }

    /// <summary>
    /// <see cref="Validate"/> without the check for finite values, for aggregators that fuse it into their fold
    /// (<see cref="AggregationKernels.FoldWeightedChecked(Span{float}, ReadOnlySpan{float}, float, bool)"/>) and
    /// refuse with <see cref="NotFinite"/>.
    /// </summary>
    public static string? ValidateLayout(Message reply, ArrayRecord global, out ArrayRecord? parameters, out double weight)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(global);
        parameters = null;
        weight = 0;
        if (reply.Content is not { } content)
        {
            return reply.Error?.Reason ?? "reply has no content";
        }

        if (!content.Arrays.TryGetValue(RecordNames.Model, out parameters))
        {
            return "reply has no 'model' array record";
        }

        var mismatch = global.DescribeLayoutMismatch(parameters);
        if (mismatch is not null)
        {
            parameters = null;
            return $"update does not match the global model: {mismatch}";
        }

        if (MetricAggregation.NumExamples(reply) is not { } n)
        {
            parameters = null;
            return "reply has no positive 'num_examples' metric";
        }

        weight = n;
        return null;
    }

    /// <summary>The problem of an update whose tensor <paramref name="name"/> holds NaN or infinity.</summary>
    public static string NotFinite(string name) => $"update tensor '{name}' contains NaN or infinity";
}
