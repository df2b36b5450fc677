namespace Federate.Core.Privacy;

/// <summary>How central DP clips client updates.</summary>
public enum CentralClipping
{
    /// <summary>A fixed clip norm S.</summary>
    Fixed,

    /// <summary>A clip norm that tracks a target quantile of update norms (Andrew et al. 2021).</summary>
    Adaptive,
}
