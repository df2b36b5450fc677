namespace Federate.Core.Aggregation;

/// <summary>What one pass of <see cref="AggregationKernels"/>' fold writes into the running sum.</summary>
internal enum FoldKind
{
    /// <summary><c>acc = x·w + acc</c>.</summary>
    Add,

    /// <summary><c>acc = x·w + 0</c>: acc's old contents are never read.</summary>
    Initialize,

    /// <summary><c>acc = x</c>: an update kept unweighted while it is the only one.</summary>
    Copy,

    /// <summary><c>acc = x·w + (acc·prior + 0)</c>: acc held an unweighted update of weight prior.</summary>
    Rebase,
}
