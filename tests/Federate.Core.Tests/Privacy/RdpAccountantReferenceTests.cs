using System.Globalization;
using System.Text.Json;
using Federate.Core.Privacy;
using Xunit.Abstractions;
using static Federate.Core.Tests.Privacy.DpReference;

namespace Federate.Core.Tests.Privacy;

/// <summary>Every row of the Opacus 1.5.4 reference files, epsilon to 1e-9 relative and best alpha exactly.</summary>
public sealed class RdpAccountantReferenceTests(ITestOutputHelper output)
{
    private const double RelTol = 1e-9;

    [Fact]
    public void GetPrivacySpent_EveryEpsilonGridRow_MatchesOpacus()
    {
        var rows = Csv("rdp_epsilon_grid.csv");
        Assert.Equal(210, rows.Count);
        var failures = new List<string>();
        double worst = 0;
        foreach (var r in rows)
        {
            double sigma = D(r["noise_multiplier"]), q = D(r["sample_rate"]), delta = D(r["delta"]);
            int steps = int.Parse(r["steps"], CultureInfo.InvariantCulture);
            double expectedEps = D(r["epsilon_rdp"]), expectedAlpha = D(r["best_alpha"]);

            var acc = new RdpAccountant();
            acc.Step(sigma, q, steps);
            var (eps, alpha) = acc.GetPrivacySpent(delta);

            double err = RelErr(eps, expectedEps);
            worst = Math.Max(worst, err);
            if (err > RelTol || alpha != expectedAlpha)
            {
                failures.Add($"sigma={sigma} q={q} T={steps}: eps {eps:R} vs {expectedEps:R} (rel {err:E2}), alpha {alpha:R} vs {expectedAlpha:R}");
            }
        }

        output.WriteLine($"rows={rows.Count} worst relative error={worst:E3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void GetPrivacySpent_EveryCompositionCase_MatchesOpacus()
    {
        using var doc = Json("dp_composition.json");
        var cases = doc.RootElement.GetProperty("cases");
        var failures = new List<string>();
        double worst = 0;
        int n = 0;
        foreach (var c in cases.EnumerateArray())
        {
            n++;
            string name = c.GetProperty("name").GetString()!;
            double delta = D(c.GetProperty("delta"));
            double expectedEps = D(c.GetProperty("epsilon_rdp_opacus"));
            double expectedAlpha = D(c.GetProperty("best_alpha_opacus"));

            // One Step call per history entry (merging only consecutive equal entries).
            var acc = new RdpAccountant();
            foreach (var h in c.GetProperty("history").EnumerateArray())
            {
                acc.Step(D(h.GetProperty("noise_multiplier")), D(h.GetProperty("sample_rate")), h.GetProperty("steps").GetInt32());
            }

            var (eps, alpha) = acc.GetPrivacySpent(delta);
            double err = RelErr(eps, expectedEps);
            worst = Math.Max(worst, err);
            if (err > RelTol || alpha != expectedAlpha)
            {
                failures.Add($"{name}: eps {eps:R} vs {expectedEps:R} (rel {err:E2}), alpha {alpha:R} vs {expectedAlpha:R}");
            }

            // Step-by-step calls (steps = 1 each) give the same history length and epsilon as Opacus.
            if (c.TryGetProperty("opacus_history_len_after_step_calls", out var lenEl))
            {
                var stepwise = new RdpAccountant();
                foreach (var h in c.GetProperty("history").EnumerateArray())
                {
                    double s = D(h.GetProperty("noise_multiplier")), q = D(h.GetProperty("sample_rate"));
                    for (int t = 0; t < h.GetProperty("steps").GetInt32(); t++)
                    {
                        stepwise.Step(s, q);
                    }
                }

                Assert.Equal(lenEl.GetInt32(), stepwise.History.Count);
                double viaSteps = D(c.GetProperty("epsilon_rdp_opacus_via_step_calls"));
                var (eps2, alpha2) = stepwise.GetPrivacySpent(delta);
                double err2 = RelErr(eps2, viaSteps);
                worst = Math.Max(worst, err2);
                if (err2 > RelTol || alpha2 != expectedAlpha)
                {
                    failures.Add($"{name} (step calls): eps {eps2:R} vs {viaSteps:R} (rel {err2:E2}), alpha {alpha2:R}");
                }
            }

            // The summed RDP at the best order matches too.
            if (c.TryGetProperty("rdp_total_at_best_alpha", out var rdpEl))
            {
                double total = 0;
                foreach (var h in acc.History)
                {
                    total += RdpAccountant.ComputeRdp(h.SampleRate, h.NoiseMultiplier, h.Steps, [expectedAlpha])[0];
                }

                double err3 = RelErr(total, D(rdpEl));
                worst = Math.Max(worst, err3);
                if (err3 > RelTol)
                {
                    failures.Add($"{name}: rdp at best alpha {total:R} vs {D(rdpEl):R} (rel {err3:E2})");
                }
            }
        }

        output.WriteLine($"cases={n} worst relative error={worst:E3}");
        Assert.True(n >= 8);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void GetNoiseMultiplier_EveryReferenceRow_ReturnsExactlyOpacusValue()
    {
        var rows = Csv("dp_noise_multiplier.csv");
        Assert.Equal(20, rows.Count);
        var failures = new List<string>();
        double worst = 0;
        foreach (var r in rows)
        {
            double target = D(r["target_epsilon"]), delta = D(r["target_delta"]), q = D(r["sample_rate"]);
            int steps = int.Parse(r["steps"], CultureInfo.InvariantCulture);
            double tol = D(r["epsilon_tolerance"]);
            double expected = D(r["noise_multiplier"]);

            double sigma = RdpAccountant.GetNoiseMultiplier(target, delta, q, steps, tol);
            if (sigma != expected)
            {
                failures.Add($"eps={target} q={q} T={steps}: {sigma:R} vs {expected:R}");
                continue;
            }

            var acc = new RdpAccountant();
            acc.Step(sigma, q, steps);
            var (eps, alpha) = acc.GetPrivacySpent(delta);
            double err = RelErr(eps, D(r["achieved_epsilon_rdp"]));
            worst = Math.Max(worst, err);
            if (err > RelTol || alpha != D(r["best_alpha"]))
            {
                failures.Add($"eps={target} q={q} T={steps}: achieved {eps:R} vs {r["achieved_epsilon_rdp"]} (rel {err:E2}), alpha {alpha:R} vs {r["best_alpha"]}");
            }
        }

        output.WriteLine($"rows={rows.Count} worst relative error of achieved epsilon={worst:E3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void DefaultOrders_MatchReferenceAlphas_Exactly()
    {
        using var doc = Json("dp_rdp_vectors.json");
        var alphas = doc.RootElement.GetProperty("alphas").EnumerateArray().Select(D).ToArray();
        Assert.Equal(151, RdpAccountant.DefaultOrders.Count);
        Assert.Equal(alphas, RdpAccountant.DefaultOrders);
        Assert.DoesNotContain(11.0, RdpAccountant.DefaultOrders);
    }

    [Fact]
    public void ComputeRdp_EveryOrderOfEveryVectorCase_MatchesOpacusPerStep()
    {
        using var doc = Json("dp_rdp_vectors.json");
        var alphas = doc.RootElement.GetProperty("alphas").EnumerateArray().Select(D).ToArray();
        var failures = new List<string>();
        double worst = 0, worstExact = 0;
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            double q = D(c.GetProperty("sample_rate")), sigma = D(c.GetProperty("noise_multiplier"));
            var expected = c.GetProperty("rdp_opacus").EnumerateArray().Select(D).ToArray();
            var actual = RdpAccountant.ComputeRdp(q, sigma, 1, alphas);
            for (int k = 0; k < alphas.Length; k++)
            {
                n++;
                double err = RelErr(actual[k], expected[k]);
                worst = Math.Max(worst, err);
                if (err > RelTol)
                {
                    failures.Add($"q={q} sigma={sigma} alpha={alphas[k]}: {actual[k]:R} vs {expected[k]:R} (rel {err:E2})");
                }
            }

            if (c.TryGetProperty("rdp_exact_mpmath", out var exactEl))
            {
                var exact = exactEl.EnumerateArray().Select(D).ToArray();
                for (int k = 0; k < alphas.Length; k++)
                {
                    worstExact = Math.Max(worstExact, RelErr(actual[k], exact[k]));
                }
            }
        }

        output.WriteLine($"values={n} worst relative error vs Opacus={worst:E3}; vs mpmath exact={worstExact:E3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void LogErfc_ReferencePoints_MatchOpacusAndMpmath()
    {
        using var doc = Json("dp_rdp_vectors.json");
        var failures = new List<string>();
        double worst = 0;
        foreach (var table in new[] { "log_erfc_opacus", "log_erfc_mpmath" })
        {
            foreach (var p in doc.RootElement.GetProperty(table).EnumerateObject())
            {
                double x = D(p.Name), expected = D(p.Value);
                double actual = PrivacyMath.LogErfc(x);
                double err = expected == 0 ? Math.Abs(actual) : RelErr(actual, expected);
                worst = Math.Max(worst, err);
                if (err > RelTol)
                {
                    failures.Add($"{table} x={x}: {actual:R} vs {expected:R} (rel {err:E2})");
                }
            }
        }

        output.WriteLine($"worst relative error={worst:E3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Binomial_ReferenceGeneralizedBinomials_Match()
    {
        using var doc = Json("dp_rdp_vectors.json");
        var failures = new List<string>();
        double worst = 0;
        int n = 0;
        foreach (var p in doc.RootElement.GetProperty("binom_frac").EnumerateObject())
        {
            // "binom(a,k)"
            var args = p.Name["binom(".Length..^1].Split(',');
            double a = D(args[0]);
            int k = int.Parse(args[1], CultureInfo.InvariantCulture);
            double expected = D(p.Value);
            double actual = PrivacyMath.Binomial(a, k);
            var (logAbs, sign) = PrivacyMath.LogAbsBinomial(a, k);
            double err = Math.Max(RelErr(actual, expected), RelErr(sign * Math.Exp(logAbs), expected));
            worst = Math.Max(worst, err);
            n++;
            if (err > RelTol || sign != Math.Sign(expected))
            {
                failures.Add($"{p.Name}: {actual:R} vs {expected:R} (rel {err:E2})");
            }
        }

        output.WriteLine($"binomials={n} worst relative error={worst:E3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void CompositionFile_HasExpectedSource()
    {
        using var doc = Json("dp_composition.json");
        Assert.Contains("Opacus", doc.RootElement.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("cases").ValueKind);
    }
}
