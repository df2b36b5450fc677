using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Federate.Core.Privacy;

namespace Federate.Cli.Commands;

/// <summary>
/// <c>federate privacy epsilon|noise</c>: the RDP accountant of the Poisson-subsampled Gaussian mechanism
/// (DP-SGD, or DP-FedAvg with client sampling) on the command line.
/// </summary>
internal static class PrivacyCommand
{
    public static Command Create(TextWriter output) =>
        new Command("privacy", "Differential-privacy accounting (RDP of the Poisson-subsampled Gaussian mechanism).") { CreateEpsilon(output), CreateNoise(output) };

    private static Command CreateEpsilon(TextWriter output)
    {
        var sigma = Required<double>("--noise-multiplier", "Noise multiplier sigma (noise std / clip norm).", "SIGMA");
        var q = Required<double>("--sample-rate", "Poisson sampling probability q per step, in [0, 1].", "Q");
        var steps = Required<int>("--steps", "Number of steps (or rounds).", "T");
        var delta = CommonOptions.Create("--delta", "Target delta, in (0, 1).", 1e-5, "DELTA");
        var json = new Option<bool>("--json") { Description = "Print {\"epsilon\": ..., \"best_alpha\": ...} as JSON." };
        var command = new Command("epsilon", "Epsilon spent by T steps with noise multiplier sigma and sample rate q, at a delta.") { sigma, q, steps, delta, json };
        command.SetAction(parse =>
        {
            double s = parse.GetValue(sigma);
            double rate = parse.GetValue(q);
            int t = parse.GetValue(steps);
            double d = parse.GetValue(delta);
            Check(s > 0 && double.IsFinite(s), $"--noise-multiplier must be greater than 0 (without noise there is no differential privacy: epsilon would be infinite), got {F(s)}");
            Check(rate >= 0 && rate <= 1, $"--sample-rate must be in [0, 1], got {F(rate)}");
            Check(t >= 0, $"--steps must be non-negative, got {t}");
            Check(d > 0 && d < 1, $"--delta must be in (0, 1), got {F(d)}");
            var (epsilon, alpha) = Accountant(s, rate, t).GetPrivacySpent(d);
            return Print(
                output,
                parse.GetValue(json),
                new Dictionary<string, double> { ["epsilon"] = epsilon, ["best_alpha"] = alpha },
                $"epsilon {F(epsilon)} (delta {F(d)}, best order {F(alpha)}) for {t} steps at noise multiplier {F(s)} and sample rate {F(rate)}");
        });
        return command;
    }

    private static Command CreateNoise(TextWriter output)
    {
        var target = Required<double>("--target-epsilon", "Target epsilon.", "EPS");
        var q = Required<double>("--sample-rate", "Poisson sampling probability q per step, in (0, 1].", "Q");
        var steps = Required<int>("--steps", "Number of steps (or rounds).", "T");
        var delta = CommonOptions.Create("--delta", "Target delta, in (0, 1).", 1e-5, "DELTA");
        var tolerance = CommonOptions.Create("--tolerance", "Epsilon tolerance of the search.", 0.01, "TOL");
        var json = new Option<bool>("--json") { Description = "Print {\"noise_multiplier\": ..., \"epsilon\": ...} as JSON." };
        var command = new Command("noise", "The smallest noise multiplier (to the search tolerance) whose epsilon stays within a target.") { target, q, steps, delta, tolerance, json };
        command.SetAction(parse =>
        {
            double e = parse.GetValue(target);
            double rate = parse.GetValue(q);
            int t = parse.GetValue(steps);
            double d = parse.GetValue(delta);
            double tol = parse.GetValue(tolerance);
            Check(e > 0 && double.IsFinite(e), $"--target-epsilon must be a positive number, got {F(e)}");
            Check(rate > 0 && rate <= 1, $"--sample-rate must be in (0, 1], got {F(rate)}");
            Check(t >= 1, $"--steps must be at least 1, got {t}");
            Check(d > 0 && d < 1, $"--delta must be in (0, 1), got {F(d)}");
            Check(tol > 0 && double.IsFinite(tol), $"--tolerance must be a positive number, got {F(tol)}");
            double sigma;
            try
            {
                sigma = RdpAccountant.GetNoiseMultiplier(e, d, rate, t, tol);
            }
            catch (ArgumentException)
            {
                throw new UsageException($"the privacy budget is too low: no noise multiplier up to {F(RdpAccountant.MaxNoiseMultiplier)} keeps epsilon within {F(e)} at delta {F(d)} with sample rate {F(rate)} over {t} steps");
            }

            double achieved = Accountant(sigma, rate, t).GetEpsilon(d);
            return Print(
                output,
                parse.GetValue(json),
                new Dictionary<string, double> { ["noise_multiplier"] = sigma, ["epsilon"] = achieved },
                $"noise multiplier {F(sigma)} (epsilon {F(achieved)} at delta {F(d)}, sample rate {F(rate)}, {t} steps)");
        });
        return command;
    }

    /// <summary>An accountant that has seen <paramref name="steps"/> steps at noise multiplier <paramref name="sigma"/> and sample rate <paramref name="rate"/>.</summary>
    private static RdpAccountant Accountant(double sigma, double rate, int steps)
    {
        var accountant = new RdpAccountant();
        accountant.Step(sigma, rate, steps);
        return accountant;
    }

    private static Option<T> Required<T>(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = true,
    };

    /// <summary>Prints <paramref name="values"/> as a JSON object with --json, otherwise the sentence <paramref name="text"/>.</summary>
    private static int Print(TextWriter output, bool json, Dictionary<string, double> values, string text)
    {
        output.WriteLine(json ? JsonSerializer.Serialize(values) : text);
        return ExitCodes.Success;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new UsageException(message);
        }
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
