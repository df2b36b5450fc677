namespace Federate.Simulation;

/// <summary>Kinds of simulated attack.</summary>
public enum AttackKind
{
    /// <summary>The update is reversed and scaled by 10: w' = g - 10·(w - g).</summary>
    SignFlip,
    /// <summary>A random update of the same norm as the honest one: w' = g + ||w - g||·u, u uniform on the sphere.</summary>
    Gaussian,
    /// <summary>Local labels are poisoned (y -> C - 1 - y); the client then trains honestly on them.</summary>
    LabelFlip,
    /// <summary>Model replacement (Bagdasaryan et al., 2020): the update is boosted by the number of clients: w' = g + n·(w - g).</summary>
    Scale,
}
