namespace Federate.Learning.Partitioning;

/// <summary>Seeded Gamma and Dirichlet sampling on <see cref="Random"/> (Marsaglia–Tsang, 2000).</summary>
internal static class DirichletSampler
{
    /// <summary>
    /// Fills <paramref name="result"/> with a draw from the symmetric Dirichlet(alpha) distribution. Gamma variates
    /// are combined in log space so that very small alphas (where Gamma draws underflow) still give a valid point on
    /// the simplex.
    /// </summary>
    public static void Sample(double alpha, Span<double> result, Random rng)
    {
        double max = double.NegativeInfinity;
        for (int k = 0; k < result.Length; k++)
        {
            result[k] = LogGamma(alpha, rng);
            max = Math.Max(max, result[k]);
        }

        double sum = 0;
        for (int k = 0; k < result.Length; k++)
        {
            result[k] = Math.Exp(result[k] - max);
            sum += result[k];
        }

        for (int k = 0; k < result.Length; k++)
        {
            result[k] /= sum;
        }
    }

    /// <summary>A Gamma(shape, 1) variate.</summary>
    public static double Gamma(double shape, Random rng) => Math.Exp(LogGamma(shape, rng));

    /// <summary>
    /// The logarithm of a Gamma(shape, 1) variate: Marsaglia–Tsang for shape >= 1; for shape &lt; 1 the boost
    /// Gamma(shape) = Gamma(shape + 1) * U^(1/shape), taken in logs.
    /// </summary>
    public static double LogGamma(double shape, Random rng)
    {
        if (!(shape > 0) || !double.IsFinite(shape))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Gamma shape must be a finite number > 0.");
        }

        if (shape < 1)
        {
            double u = 1.0 - rng.NextDouble(); // (0, 1]
            return LogGamma(shape + 1, rng) + (Math.Log(u) / shape);
        }

        double d = shape - (1.0 / 3.0);
        double c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x;
            double v;
            do
            {
                x = StandardNormal(rng);
                v = 1.0 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            double u = 1.0 - rng.NextDouble();
            double x2 = x * x;
            if (u < 1.0 - (0.0331 * x2 * x2) || Math.Log(u) < (0.5 * x2) + (d * (1.0 - v + Math.Log(v))))
            {
                return Math.Log(d * v);
            }
        }
    }

    /// <summary>A standard normal variate (Box–Muller).</summary>
    public static double StandardNormal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
