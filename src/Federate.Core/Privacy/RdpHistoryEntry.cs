namespace Federate.Core.Privacy;

/// <summary>One entry of an <see cref="RdpAccountant"/> history: <paramref name="Steps"/> steps of the
/// Poisson-subsampled Gaussian mechanism with the given noise multiplier and sample rate.</summary>
/// <param name="NoiseMultiplier">Noise standard deviation divided by the L2 sensitivity (clipping norm), &gt;= 0.</param>
/// <param name="SampleRate">Poisson sampling probability q in [0, 1].</param>
/// <param name="Steps">Number of steps (rounds), &gt;= 0.</param>
public readonly record struct RdpHistoryEntry(double NoiseMultiplier, double SampleRate, int Steps);
