namespace Federate.Core.Privacy;

/// <summary>
/// Numerical building blocks of the RDP accountant for the Poisson-subsampled Gaussian mechanism
/// (Mironov, Talwar, Zhang 2019): log-space accumulation, generalized binomials, an accurate
/// <c>erfc</c>/<c>log_ndtr</c>/<c>log_erfc</c>, and the integer- and fractional-order <c>ln A_alpha</c>.
/// </summary>
internal static class PrivacyMath
{
    private const double Ln2 = 0.6931471805599453094172321;
    private const double InvSqrtPi = 0.5641895835477562869480795;
    private const double TwoOverSqrtPi = 1.1283791670955125738961589;
    private const double HalfLnTwoPi = 0.9189385332046727417803297;
    private const double InvSqrt2 = 0.7071067811865475244008444;

    /// <summary><c>sqrt(2)</c> as the double <c>2 ** 0.5</c>.</summary>
    private static readonly double Sqrt2 = Math.Sqrt(2.0);

    /// <summary>Below this the continued fraction for erfc converges slowly; 1 - erf is used instead.</summary>
    private const double ContinuedFractionThreshold = 2.0;

    /// <summary>Safety cap on the fractional-order series (the reference has none).</summary>
    internal const int MaxSeriesTerms = 10_000_000;

    /// <summary>The fractional series stops after the first term where both parts are below exp(-30).</summary>
    private const double SeriesCutoff = -30.0;

    // ---------------------------------------------------------------- elementary accurate helpers

    /// <summary><c>ln(1 + x)</c>, accurate for small <paramref name="x"/> (the BCL's LogP1 is <c>Log(1 + x)</c>).</summary>
    internal static double Log1P(double x)
    {
        if (double.IsNaN(x) || x == double.PositiveInfinity)
        {
            return x;
        }

        double u = 1.0 + x;
        if (u == 1.0)
        {
            return x;
        }

        if (u == 0.0)
        {
            return double.NegativeInfinity;
        }

        // Goldberg's correction: the rounding error of 1 + x is compensated exactly enough.
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary><c>exp(x) - 1</c>, accurate for small <paramref name="x"/> (the BCL's ExpM1 is <c>Exp(x) - 1</c>).</summary>
    internal static double ExpM1(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (Math.Abs(x) < 1e-5)
        {
            // x + x^2/2 + x^3/6 + x^4/24: truncation error below x^5/120 < 1e-27 relative.
            return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0)));
        }

        double u = Math.Exp(x);
        if (double.IsPositiveInfinity(u))
        {
            return u;
        }

        double um1 = u - 1.0;
        if (um1 == -1.0)
        {
            return -1.0;
        }

        // Kahan's correction for the rounding of exp(x).
        return um1 * x / Math.Log(u);
    }

    /// <summary><c>ln(exp(logX) + exp(logY))</c>.</summary>
    internal static double LogAdd(double logX, double logY)
    {
        double a = Math.Min(logX, logY);
        double b = Math.Max(logX, logY);
        if (double.IsNegativeInfinity(a))
        {
            return b;
        }

        return Log1P(Math.Exp(a - b)) + b;
    }

    /// <summary><c>ln(exp(logX) - exp(logY))</c>; requires <paramref name="logX"/> &gt;= <paramref name="logY"/>.</summary>
    internal static double LogSub(double logX, double logY)
    {
        if (logX < logY)
        {
            throw new InvalidOperationException(
                $"log_sub: the result would be negative (logX = {logX:R} < logY = {logY:R}).");
        }

        if (double.IsNegativeInfinity(logY))
        {
            return logX;
        }

        if (logX == logY)
        {
            return double.NegativeInfinity;
        }

        double e = ExpM1(logX - logY);
        if (double.IsPositiveInfinity(e))
        {
            // exp overflowed: exp(logY) is negligible next to exp(logX).
            return logX;
        }

        return Math.Log(e) + logY;
    }

    // ---------------------------------------------------------------- binomials

    /// <summary>
    /// The generalized binomial coefficient <c>C(a, k) = a (a-1) ... (a-k+1) / k!</c> for real
    /// <paramref name="a"/> and integer <paramref name="k"/> &gt;= 0 (negative once k &gt; a for some k when a is
    /// fractional; zero for integer a &gt;= 0 and k &gt; a).
    /// </summary>
    internal static double Binomial(double a, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a == Math.Floor(a) && a >= 0)
        {
            if (k > a)
            {
                return 0.0;
            }

            if (k > a / 2)
            {
                k = (int)(a - k); // symmetry keeps the product short and exact-ish
            }
        }

        double c = 1.0;
        for (int i = 1; i <= k; i++)
        {
            c *= (a - k + i) / i;
        }

        return c;
    }

    /// <summary><c>ln |C(a, k)|</c> and the sign of the generalized binomial coefficient (sign 0 when it is 0).</summary>
    internal static (double LogAbs, int Sign) LogAbsBinomial(double a, int k)
    {
        double c = Binomial(a, k);
        return (Math.Log(Math.Abs(c)), Math.Sign(c));
    }

    // ---------------------------------------------------------------- erf / erfc / log_ndtr / log_erfc

    /// <summary>The error function.</summary>
    internal static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        double ax = Math.Abs(x);
        if (ax <= 0.5)
        {
            return ErfTaylor(x);
        }

        if (ax < ContinuedFractionThreshold)
        {
            return Math.CopySign(ErfPositiveSeries(ax), x);
        }

        return Math.CopySign(1.0 - Erfc(ax), x);
    }

    /// <summary>The complementary error function, accurate in relative terms for large positive x.</summary>
    internal static double Erfc(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (x < -0.5)
        {
            return 2.0 - Erfc(-x);
        }

        if (x <= 0.5)
        {
            return 1.0 - ErfTaylor(x);
        }

        if (x < ContinuedFractionThreshold)
        {
            return 1.0 - ErfPositiveSeries(x);
        }

        if (x > 27.3)
        {
            return 0.0; // below the smallest subnormal
        }

        return ExpMinusSquare(x) * ErfcxContinuedFraction(x);
    }

    /// <summary>The scaled complementary error function <c>exp(x^2) erfc(x)</c> for x &gt;= 0.</summary>
    internal static double Erfcx(double x)
    {
        if (x < ContinuedFractionThreshold)
        {
            return Erfc(x) / ExpMinusSquare(x);
        }

        return ErfcxContinuedFraction(x);
    }

    /// <summary><c>exp(-x^2)</c> without the rounding error of forming <c>x^2</c> (splitting x as Cody does).</summary>
    private static double ExpMinusSquare(double x)
    {
        double hi = Math.Truncate(x * 16.0) / 16.0; // few significant bits: hi * hi is exact
        double del = (x - hi) * (x + hi);
        return Math.Exp(-hi * hi) * Math.Exp(-del);
    }

    /// <summary>erf by its Maclaurin series (|x| &lt;= 0.5: terms fall by at least 4x each).</summary>
    private static double ErfTaylor(double x)
    {
        double x2 = x * x;
        double term = x; // (-1)^n x^(2n+1) / n!
        double sum = x;
        for (int n = 1; n < 60; n++)
        {
            term *= -x2 / n;
            double t = term / (2 * n + 1);
            sum += t;
            if (Math.Abs(t) < 1e-17 * Math.Abs(sum))
            {
                break;
            }
        }

        return TwoOverSqrtPi * sum;
    }

    /// <summary>
    /// erf(x) = 2x/sqrt(pi) exp(-x^2) sum_n (2x^2)^n / (1*3*...*(2n+1)) for x &gt; 0: all terms positive, no
    /// cancellation.
    /// </summary>
    private static double ErfPositiveSeries(double x)
    {
        double x2 = 2.0 * x * x;
        double term = 1.0;
        double sum = 1.0;
        for (int n = 1; n < 500; n++)
        {
            term *= x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum)
            {
                break;
            }
        }

        return TwoOverSqrtPi * x * ExpMinusSquare(x) * sum;
    }

    /// <summary>
    /// exp(x^2) erfc(x) = (1/sqrt(pi)) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))) for x &gt;= 2, by the
    /// modified Lentz algorithm.
    /// </summary>
    private static double ErfcxContinuedFraction(double x)
    {
        const double tiny = 1e-300;
        double f = x; // b0 = x
        double c = f;
        double d = 0.0;
        for (int k = 1; k < 5000; k++)
        {
            double a = 0.5 * k;
            d = x + a * d;
            if (d == 0.0)
            {
                d = tiny;
            }

            c = x + a / c;
            if (c == 0.0)
            {
                c = tiny;
            }

            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 3e-16)
            {
                break;
            }
        }

        return InvSqrtPi / f;
    }

    /// <summary>
    /// <c>ln Phi(t)</c>, the log of the standard normal CDF: an asymptotic series for t &lt; -20, erfc-based
    /// evaluation otherwise (via the scaled erfcx so nothing underflows).
    /// </summary>
    internal static double LogNdtr(double t)
    {
        if (double.IsNaN(t))
        {
            return t;
        }

        if (t >= 0)
        {
            // Phi(t) = 1 - erfc(t / sqrt 2) / 2, in [1/2, 1].
            return Log1P(-0.5 * Erfc(t * InvSqrt2));
        }

        if (t >= -20.0)
        {
            double u = -t * InvSqrt2; // Phi(t) = erfc(u) / 2
            if (u < ContinuedFractionThreshold)
            {
                return Math.Log(0.5 * Erfc(u));
            }

            return Math.Log(0.5 * ErfcxContinuedFraction(u)) - u * u;
        }

        if (double.IsNegativeInfinity(t))
        {
            return double.NegativeInfinity;
        }

        // Phi(t) ~ phi(t) / |t| * (1 + sum_n (-1)^n (2n-1)!! / t^(2n)), divergent but with a minimum term
        // far below 1e-17 for |t| >= 20.
        double invT2 = 1.0 / (t * t);
        double term = 1.0;
        double series = 0.0;
        for (int n = 1; n < 100; n++)
        {
            double next = -term * (2 * n - 1) * invT2;
            if (Math.Abs(next) >= Math.Abs(term))
            {
                break; // asymptotic series: stop before the terms grow
            }

            term = next;
            series += term;
            if (Math.Abs(term) < 1e-18)
            {
                break;
            }
        }

        return -0.5 * t * t - Math.Log(-t) - HalfLnTwoPi + Log1P(series);
    }

    /// <summary><c>ln erfc(x) = ln 2 + log_ndtr(-x sqrt 2)</c>, accurate for large x (about -10005 at x = 100).</summary>
    internal static double LogErfc(double x) => Ln2 + LogNdtr(-x * Sqrt2);

    // ---------------------------------------------------------------- A_alpha of the sampled Gaussian mechanism

    /// <summary>
    /// <c>ln A_alpha</c> for integer alpha: <c>sum_{i=0..alpha} C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2
    /// sigma^2))</c>, accumulated in log space.
    /// </summary>
    internal static double LogAInteger(double q, double sigma, int alpha)
    {
        double logA = double.NegativeInfinity;
        double logQ = Math.Log(q);
        double log1MinusQ = Math.Log(1 - q);
        double twoSigma2 = 2 * (sigma * sigma);
        for (int i = 0; i <= alpha; i++)
        {
            double logCoef = Math.Log(Binomial(alpha, i)) + i * logQ + (alpha - i) * log1MinusQ;
            double s = logCoef + ((double)i * i - i) / twoSigma2;
            logA = LogAdd(logA, s);
        }

        return logA;
    }

    /// <summary>
    /// <c>ln A_alpha</c> for fractional alpha: the two-sided series of Mironov et al. (2019, Sec. 3.3) with
    /// <c>z0 = sigma^2 ln(1/q - 1) + 1/2</c>; positive generalized-binomial terms are added and negative ones
    /// subtracted in log space; stops after the first i where both terms fall below exp(-30).
    /// </summary>
    internal static double LogAFractional(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity;
        double logA1 = double.NegativeInfinity;
        double sigma2 = sigma * sigma;
        double z0 = sigma2 * Math.Log(1 / q - 1) + 0.5;
        double twoSigma2 = 2 * sigma2;
        double sqrt2Sigma = Sqrt2 * sigma;
        double logQ = Math.Log(q);
        double log1MinusQ = Math.Log(1 - q);
        double logHalf = Math.Log(0.5);
        double coef = 1.0;
        for (int i = 0; ; i++)
        {
            if (i > 0)
            {
                coef *= (alpha - (i - 1)) / i;
            }

            double logCoef = Math.Log(Math.Abs(coef));
            double j = alpha - i;
            double logT0 = logCoef + i * logQ + j * log1MinusQ;
            double logT1 = logCoef + j * logQ + i * log1MinusQ;
            double logE0 = logHalf + LogErfc((i - z0) / sqrt2Sigma);
            double logE1 = logHalf + LogErfc((z0 - j) / sqrt2Sigma);
            double logS0 = logT0 + ((double)i * i - i) / twoSigma2 + logE0;
            double logS1 = logT1 + (j * j - j) / twoSigma2 + logE1;
            if (coef > 0)
            {
                logA0 = LogAdd(logA0, logS0);
                logA1 = LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogSub(logA0, logS0);
                logA1 = LogSub(logA1, logS1);
            }

            if (Math.Max(logS0, logS1) < SeriesCutoff)
            {
                break;
            }

            if (double.IsNaN(logS0) || double.IsNaN(logS1) || i >= MaxSeriesTerms)
            {
                throw new InvalidOperationException(
                    $"The fractional-order RDP series did not converge (q = {q:R}, sigma = {sigma:R}, alpha = {alpha:R}, i = {i}).");
            }
        }

        return LogAdd(logA0, logA1);
    }

    /// <summary>
    /// RDP of one step of the sampled Gaussian mechanism at order <paramref name="alpha"/>: 0 when q = 0,
    /// infinity when sigma = 0, alpha / (2 sigma^2) when q = 1, otherwise <c>ln A_alpha / (alpha - 1)</c>.
    /// </summary>
    internal static double RdpOneStep(double q, double sigma, double alpha)
    {
        if (q == 0)
        {
            return 0.0;
        }

        if (sigma == 0)
        {
            return double.PositiveInfinity;
        }

        if (q == 1.0)
        {
            return alpha / (2 * (sigma * sigma));
        }

        if (double.IsPositiveInfinity(alpha))
        {
            return double.PositiveInfinity;
        }

        double logA = alpha == Math.Floor(alpha) && alpha <= int.MaxValue
            ? LogAInteger(q, sigma, (int)alpha)
            : LogAFractional(q, sigma, alpha);
        return logA / (alpha - 1);
    }
}
