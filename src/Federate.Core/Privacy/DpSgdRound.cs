namespace Federate.Core.Privacy;

/// <summary>The privacy cost of one round of local DP-SGD training.</summary>
/// <param name="NoiseMultiplier">sigma: the noise std on the clipped sum is sigma times the clip norm.</param>
/// <param name="SampleRate">q: Poisson probability that an example is in a step's batch.</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="Examples">Local training examples (n; the client-level sensitivity of a step is n times the clip norm).</param>
public readonly record struct DpSgdRound(double NoiseMultiplier, double SampleRate, int Steps, long Examples);
