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

        foreach (var (name, tensor) in parameters)
        {
            if (!AggregationKernels.AllFinite(tensor))
            {
                parameters = null;
                return $"update tensor '{name}' contains NaN or infinity";
            }
        }

        weight = n;
        return null;
    }
}
