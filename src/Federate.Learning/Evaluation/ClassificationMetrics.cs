using Federate.Core;

namespace Federate.Learning;

/// <summary>Classification metrics computed from predicted probabilities.</summary>
public static class ClassificationMetrics
{
    /// <summary>
    /// loss (mean cross-entropy / log-loss), accuracy, precision, recall, f1 (binary: of class 1; more classes:
    /// macro averages), dice (binary: of class 1; more classes: macro).
    /// </summary>
    public static MetricRecord Compute(ReadOnlySpan<float> probabilities, ReadOnlySpan<int> labels, int classCount) => throw new NotImplementedException();
}
