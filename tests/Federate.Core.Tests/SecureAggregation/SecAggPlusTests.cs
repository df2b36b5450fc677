using System.Runtime.CompilerServices;
using Federate.Core.Privacy;
using Federate.Core.SecureAggregation;

namespace Federate.Core.Tests.SecureAggregation;

public class SecAggPlusTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    private static ArrayRecord Initial() => new()
    {
        { "w", Tensor.FromArray(Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i)).ToArray(), 10, 100) },
        { "b", Tensor.FromArray(Enumerable.Range(0, 7).Select(i => i * 0.25).ToArray(), 7) },
    };

    // Client i moves every parameter by its own pseudo-random step and trained on 20 + 13 i examples.
    private static ArrayRecord Train(ArrayRecord global, long node)
    {
        var rng = new Random((int)node * 7919);
        var w = global["w"].AsSpan<float>().ToArray();
        var b = global["b"].AsSpan<double>().ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            w[i] += (float)((rng.NextDouble() - 0.5) * 0.4);
        }

        for (int i = 0; i < b.Length; i++)
        {
            b[i] += (rng.NextDouble() - 0.5) * 0.4;
        }

        return new() { { "w", Tensor.FromArray(w, 10, 100) }, { "b", Tensor.FromArray(b, 7) } };
    }

    private static long Examples(long node) => 20 + (13 * node);

    private sealed class StepClient(long node) : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => new();

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(Train(parameters, node), Examples(node), new MetricRecord { ["loss"] = node });

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(0.5, 10, new MetricRecord { ["accuracy"] = 0.5 });
    }

    /// <summary>Drops a node at a stage (an error reply, as a lost client gives), before the secure-aggregation mod sees it.</summary>
    private static ClientMod DropAt(Func<long, string, bool> drop) => (message, next, ct) =>
    {
        var stage = message.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.TryGetValue(SecAggNames.Stage, out var s) ? s.AsString() : "";
        return drop(message.Metadata.DestinationNodeId, stage)
            ? ValueTask.FromResult(message.CreateErrorReply(new MessageError("dropped", "lost")))
            : next(message, ct);
    };

    private static Dictionary<long, IClientApp> Apps(int n, Func<long, string, bool>? drop = null, Dictionary<long, SecAggPlusClient>? clients = null)
    {
        var apps = new Dictionary<long, IClientApp>();
        for (long node = 1; node <= n; node++)
        {
            var client = new SecAggPlusClient();
            clients?.Add(node, client);
            apps[node] = new StepClient(node).ToClientApp(DropAt(drop ?? ((_, _) => false)), client.Mod);
        }

        return apps;
    }

    private static RunOptions Options(SecAggPlusSettings settings, int rounds = 1)
    {
        var options = new RunOptions { Rounds = rounds, RunId = "secagg-run", Seed = 3 };
        SecAggPlusWorkflow.Apply(options, settings);
        return options;
    }

    // The plain example-weighted mean of the given nodes' trained models (float64).
    private static (double[] W, double[] B) PlainMean(ArrayRecord global, IEnumerable<long> nodes)
    {
        var w = new double[1000];
        var b = new double[7];
        double total = 0;
        foreach (var node in nodes)
        {
            var x = Train(global, node);
            double n = Examples(node);
            total += n;
            var xw = x["w"].AsSpan<float>();
            var xb = x["b"].AsSpan<double>();
            for (int i = 0; i < w.Length; i++)
            {
                w[i] += n * xw[i];
            }

            for (int i = 0; i < b.Length; i++)
            {
                b[i] += n * xb[i];
            }
        }

        return (w.Select(v => v / total).ToArray(), b.Select(v => v / total).ToArray());
    }

    // |(S + e)/(W + e') − S/W| ≤ E (1 + |S/W|) / (W − E) with |e|, |e'| ≤ E = k c / (Q − 1), plus float32 rounding.
    private static void AssertWithinQuantization(ArrayRecord global, ArrayRecord result, IReadOnlyCollection<long> nodes, SecAggPlusSettings settings)
    {
        var (w, b) = PlainMean(global, nodes);
        double weight = nodes.Sum(n => Math.Min(Examples(n) / settings.MaxWeight, 1));
        double e = nodes.Count * settings.ClippingRange / (settings.QuantizationRange - 1);
        var gw = global["w"].AsSpan<float>();
        var rw = result["w"].AsSpan<float>();
        for (int i = 0; i < w.Length; i++)
        {
            double delta = w[i] - gw[i];
            double bound = (e * (1 + Math.Abs(delta)) / (weight - e)) + (Math.Abs(w[i]) * 1.2e-7) + 1e-12;
            Assert.True(Math.Abs(rw[i] - w[i]) <= bound, $"w[{i}]: secure {rw[i]} vs plain {w[i]}, bound {bound}");
        }

        var rb = result["b"].AsSpan<double>();
        var gb = global["b"].AsSpan<double>();
        for (int i = 0; i < b.Length; i++)
        {
            double bound = (e * (1 + Math.Abs(b[i] - gb[i])) / (weight - e)) + 1e-12;
            Assert.True(Math.Abs(rb[i] - b[i]) <= bound, $"b[{i}]: secure {rb[i]} vs plain {b[i]}, bound {bound}");
        }
    }

    [Fact]
    public async Task RunAsync_TenClients_UnmaskedMeanEqualsPlainWeightedMeanWithinQuantizationBound()
    {
        var settings = new SecAggPlusSettings();
        var grid = new DirectGrid(Apps(10));
        var result = await new RunDriver(grid, new FedAvg(), Options(settings)).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Empty(round.Failures);
        Assert.Equal(10, round.Results);
        Assert.Equal(10, round.Train["secagg_clients"]);
        Assert.Equal(5.5, round.Train["loss"]); // the unweighted mean of the clients' metrics (1..10)
        AssertWithinQuantization(Initial(), result.Parameters, [.. Enumerable.Range(1, 10).Select(i => (long)i)], settings);

        // And against a plain FedAvg run of the same clients: the same model up to the quantization error.
        var plain = await new RunDriver(new DirectGrid(Enumerable.Range(1, 10).ToDictionary(i => (long)i, i => new StepClient(i).ToClientApp())), new FedAvg(), new RunOptions { Rounds = 1, RunId = "plain" }).RunAsync(Initial()).WaitAsync(TestTimeout);
        var p = plain.Parameters["w"].AsSpan<float>();
        var s = result.Parameters["w"].AsSpan<float>();
        for (int i = 0; i < p.Length; i++)
        {
            Assert.True(Math.Abs(p[i] - s[i]) < 1e-4, $"w[{i}] {s[i]} vs {p[i]}");
        }
    }

    [Fact]
    public async Task RunAsync_SmallModulusAndCompleteGraph_StillExact()
    {
        var settings = new SecAggPlusSettings { NumShares = 10, QuantizationRange = 1 << 16, ModulusRange = 1 << 20 };
        var result = await new RunDriver(new DirectGrid(Apps(5)), new FedAvg(), Options(settings)).RunAsync(Initial()).WaitAsync(TestTimeout);

        Assert.Equal(5, Assert.Single(result.History.Rounds).Results);
        AssertWithinQuantization(Initial(), result.Parameters, [1, 2, 3, 4, 5], settings);
    }

    [Theory]
    [InlineData(SecAggNames.Setup)]
    [InlineData(SecAggNames.ShareKeys)]
    [InlineData(SecAggNames.CollectMasked)]
    [InlineData(SecAggNames.Unmask)]
    public async Task RunAsync_TwoClientsDropAtAStage_RecoversTheSumOfTheOthers(string stage)
    {
        // 12 clients, degree 8, threshold 5: two of them lost at the given stage.
        var settings = new SecAggPlusSettings();
        long[] lost = [4, 9];
        var grid = new DirectGrid(Apps(12, (node, s) => s == stage && lost.Contains(node)));
        var result = await new RunDriver(grid, new FedAvg(), Options(settings)).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Equal(lost, round.Failures.Select(f => f.NodeId).Order());
        Assert.All(round.Failures, f => Assert.Equal((stage, "dropped"), (f.Phase, f.Code)));
        // A client lost while unmasking had sent its masked update: it is in the sum.
        var included = Enumerable.Range(1, 12).Select(i => (long)i).Where(n => stage == SecAggNames.Unmask || !lost.Contains(n)).ToArray();
        Assert.Equal(included.Length, round.Results);
        Assert.Equal(12 - included.Length, round.Train["secagg_dropped"]);
        AssertWithinQuantization(Initial(), result.Parameters, included, settings);
    }

    [Fact]
    public async Task RunAsync_DropoutsAtEveryStage_RecoversUpToTheThreshold()
    {
        // 20 clients, degree 10, threshold 6: one client lost at each stage.
        var settings = new SecAggPlusSettings();
        var plan = new Dictionary<long, string> { [2] = SecAggNames.Setup, [7] = SecAggNames.ShareKeys, [13] = SecAggNames.CollectMasked, [18] = SecAggNames.Unmask };
        var grid = new DirectGrid(Apps(20, (node, s) => plan.TryGetValue(node, out var at) && at == s));
        var result = await new RunDriver(grid, new FedAvg(), Options(settings)).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Equal(plan.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)), round.Failures.OrderBy(f => f.NodeId).Select(f => (f.NodeId, f.Phase)));
        var included = Enumerable.Range(1, 20).Select(i => (long)i).Where(n => n is not (2 or 7 or 13)).ToArray();
        AssertWithinQuantization(Initial(), result.Parameters, included, settings);
    }

    [Fact]
    public async Task RunAsync_TooFewMaskedUpdates_FailsTheRoundClearlyAndKeepsTheModel()
    {
        // 6 clients, degree 6 → complete graph of 5 neighbours, threshold 3: 4 lost before sending a masked update.
        var settings = new SecAggPlusSettings();
        var grid = new DirectGrid(Apps(6, (node, s) => s == SecAggNames.CollectMasked && node <= 4));
        var result = await new RunDriver(grid, new FedAvg(), Options(settings, rounds: 2)).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Equal(0, round.Results);
        var failure = Assert.Single(round.Failures, f => f.Code == "secagg_failed");
        Assert.Equal(SecAggNames.CollectMasked, failure.Phase);
        Assert.Equal("only 2 clients sent masked updates, fewer than the reconstruction threshold 3: the round fails and nothing is unmasked (lower 'secagg_threshold' or sample more clients)", failure.Reason);
        Assert.Equal(StopReasons.NotEnoughResults, result.History.StopReason);
        Assert.Equal(Initial()["w"].AsSpan<float>().ToArray(), result.Parameters["w"].AsSpan<float>().ToArray());
        // Nobody was asked for shares: no unmask message went out.
        Assert.DoesNotContain(grid.Sent.SelectMany(b => b), m => Stage(m) == SecAggNames.Unmask);
    }

    [Fact]
    public async Task RunAsync_TooFewShareHoldersAnswerUnmask_FailsTheRound()
    {
        // 6 clients on a complete graph, threshold 3 of 5: 4 answer nothing while unmasking.
        var settings = new SecAggPlusSettings();
        var grid = new DirectGrid(Apps(6, (node, s) => s == SecAggNames.Unmask && node <= 4));
        var result = await new RunDriver(grid, new FedAvg(), Options(settings)).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Equal(0, round.Results);
        var failure = Assert.Single(round.Failures, f => f.Code == "secagg_failed");
        Assert.Matches("^only 2 neighbours of node 1 returned shares of its self-mask seed, fewer than the reconstruction threshold 3: the round fails and nothing is unmasked$", failure.Reason);
        Assert.Equal(Initial()["w"].AsSpan<float>().ToArray(), result.Parameters["w"].AsSpan<float>().ToArray());
    }

    [Fact]
    public async Task RunAsync_FewerThanThreeClients_FailsWithAReason()
    {
        var result = await new RunDriver(new DirectGrid(Apps(2)), new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures);
        Assert.Equal((SecAggNames.Setup, "secagg_failed"), (failure.Phase, failure.Code));
        Assert.StartsWith("secure aggregation needs at least 3 clients in a round", failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ServerSeesOnlyUniformMaskedVectors_NoUpdateInAnyReply()
    {
        var replies = new List<Message>();
        var grid = new TamperingGrid(Apps(8), reply: m => { replies.Add(m); return m; });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);
        Assert.Equal(8, Assert.Single(result.History.Rounds).Results);

        // No reply to the secure-aggregation stages carries a model or a float tensor, nor an example count (federated
        // evaluation after them is not secured: its replies are loss and accuracy).
        replies.RemoveAll(r => r.Metadata.MessageType == MessageType.Evaluate);
        Assert.Equal(4 * 8, replies.Count);
        Assert.All(replies, r =>
        {
            Assert.DoesNotContain(RecordNames.Model, r.Content!.Arrays.Keys);
            Assert.All(r.Content.Arrays.Values.SelectMany(a => a.Select(kv => kv.Value)), t => Assert.Equal(DType.UInt32, t.DType));
            Assert.All(r.Content.Metrics.Values, m => Assert.DoesNotContain(RecordNames.NumExamples, m.Keys));
        });

        var masked = replies.Where(r => r.Content!.Arrays.ContainsKey(SecAggNames.Record)).ToArray();
        Assert.Equal(8, masked.Length);
        foreach (var reply in masked)
        {
            var values = reply.Content!.Arrays[SecAggNames.Record][SecAggNames.Masked].AsSpan<uint>().ToArray();
            // Uniform over 2^32: a chi-square test on the top 4 bits (16 bins, 1008 values; 15 df, p = 0.001 at 37.7).
            var bins = new double[16];
            foreach (var v in values)
            {
                bins[v >> 28]++;
            }

            double expected = values.Length / 16.0;
            double chi = bins.Sum(b => (b - expected) * (b - expected) / expected);
            Assert.True(chi < 37.7, $"masked vector of node {reply.Metadata.SourceNodeId} is not uniform (chi-square {chi:0.0})");

            // Unrelated to the node's quantized update: the correlation is near zero (|r| < 0.15 for 1000 values).
            long node = reply.Metadata.SourceNodeId;
            var trained = Train(Initial(), node)["w"].AsSpan<float>().ToArray();
            var update = trained.Select((x, i) => (double)x - Initial()["w"].AsSpan<float>()[i]).ToArray();
            double r = Correlation(update, values.Take(1000).Select(v => (double)v).ToArray());
            Assert.True(Math.Abs(r) < 0.15, $"masked vector of node {node} correlates with its update (r = {r:0.000})");
        }
    }

    [Fact]
    public async Task RunAsync_ForgedShareInTransit_TheReceiverRefusesAndCountsAsDropped()
    {
        // The server flips a bit of one share addressed to node 3: node 3 refuses to go on; the round recovers.
        var grid = new TamperingGrid(Apps(10), instruction: m =>
        {
            if (Stage(m) == SecAggNames.CollectMasked && m.Metadata.DestinationNodeId == 3)
            {
                var shares = m.Content!.Configs[SecAggNames.Record][SecAggNames.Shares].AsBytes();
                shares[40] ^= 1;
            }

            return m;
        });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        var failure = Assert.Single(round.Failures);
        Assert.Equal((3L, SecAggNames.CollectMasked, "secagg_refused"), (failure.NodeId, failure.Phase, failure.Code));
        Assert.Matches("^the share from node \\d+ does not decrypt \\(forged, altered or replayed\\)$", failure.Reason);
        Assert.Equal(9, round.Results);
        AssertWithinQuantization(Initial(), result.Parameters, [.. Enumerable.Range(1, 10).Where(i => i != 3).Select(i => (long)i)], new SecAggPlusSettings());
    }

    [Fact]
    public async Task RunAsync_ClientAnnouncesAKeyOffTheCurve_IsRefusedAtSetup()
    {
        var grid = new TamperingGrid(Apps(8), reply: m =>
        {
            if (m.Metadata.SourceNodeId == 5 && m.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.ContainsKey(SecAggNames.MaskKey))
            {
                c[SecAggNames.MaskKey].AsBytes()[63] ^= 1; // y no longer on the curve
            }

            return m;
        });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        var failure = Assert.Single(round.Failures);
        Assert.Equal((5L, SecAggNames.Setup, "invalid_secagg", "a public key is not a point of P-256 (malformed or forged)"), (failure.NodeId, failure.Phase, failure.Code, failure.Reason));
        Assert.Equal(7, round.Results);
    }

    [Fact]
    public async Task RunAsync_ServerSubstitutesAClientsOwnKeyForANeighbour_ClientRefuses()
    {
        byte[]? ownKey = null;
        var grid = new TamperingGrid(
            Apps(8),
            instruction: m =>
            {
                if (Stage(m) == SecAggNames.ShareKeys && m.Metadata.DestinationNodeId == 2 && ownKey is not null)
                {
                    ownKey.CopyTo(m.Content!.Configs[SecAggNames.Record][SecAggNames.MaskKey].AsBytes(), 0);
                }

                return m;
            },
            reply: m =>
            {
                if (m.Metadata.SourceNodeId == 2 && m.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.ContainsKey(SecAggNames.MaskKey))
                {
                    ownKey = c[SecAggNames.MaskKey].AsBytes().ToArray();
                }

                return m;
            });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures);
        Assert.Equal((2L, SecAggNames.ShareKeys, "secagg_refused"), (failure.NodeId, failure.Phase, failure.Code));
        Assert.Matches("^the public keys of node \\d+ are malformed, forged or repeated$", failure.Reason);
    }

    [Fact]
    public async Task RunAsync_ForgedShareInUnmask_DetectedAndNothingIsUnmasked()
    {
        // A holder returns a wrong share of a survivor's seed: the rebuilt seed misses its commitment.
        var grid = new TamperingGrid(Apps(6), reply: m =>
        {
            if (m.Metadata.SourceNodeId == 2 && m.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.ContainsKey(SecAggNames.Shares) && !c.ContainsKey(SecAggNames.SeedCommitment) && m.Content.Arrays.Count == 0)
            {
                c[SecAggNames.Shares].AsBytes()[31] ^= 1;
            }

            return m;
        });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var round = Assert.Single(result.History.Rounds);
        Assert.Equal(0, round.Results);
        var failure = Assert.Single(round.Failures);
        Assert.Equal((SecAggNames.Unmask, "secagg_failed"), (failure.Phase, failure.Code));
        Assert.Matches("^the shares of node \\d+'s self-mask seed do not match its commitment \\(forged or corrupted shares\\): the round fails and nothing is unmasked$", failure.Reason);
        Assert.Equal(Initial()["w"].AsSpan<float>().ToArray(), result.Parameters["w"].AsSpan<float>().ToArray());
    }

    [Fact]
    public async Task RunAsync_ServerAsksForBothSecretsOfANeighbour_ClientRefuses()
    {
        var grid = new TamperingGrid(Apps(6), instruction: m =>
        {
            if (Stage(m) == SecAggNames.Unmask && m.Metadata.DestinationNodeId == 1)
            {
                var arrays = m.Content!.Arrays[SecAggNames.Record];
                var survivors = arrays[SecAggNames.Nodes].AsSpan<long>().ToArray();
                m.Content.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Nodes, arrays[SecAggNames.Nodes] }, { SecAggNames.Dropped, Tensor.FromArray(survivors[..1], 1) } };
            }

            return m;
        });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings())).RunAsync(Initial()).WaitAsync(TestTimeout);

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures, f => f.NodeId == 1);
        Assert.Equal((SecAggNames.Unmask, "secagg_refused", "the server asked for both secrets of a neighbour, or for nodes that sent no shares to this client"), (failure.Phase, failure.Code, failure.Reason));
    }

    [Fact]
    public async Task HandleAsync_StageOutOfOrder_Refused()
    {
        var client = new SecAggPlusClient();
        var content = new RecordDict();
        content.Configs[SecAggNames.Record] = new ConfigRecord { [SecAggNames.Stage] = SecAggNames.Unmask };
        var message = new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Custom, DestinationNodeId = 1 }, content);

        var reply = await client.HandleAsync(message, (_, _) => throw new InvalidOperationException("not reached"), CancellationToken.None);

        Assert.Equal(new MessageError("secagg_refused", "secure-aggregation stage out of order for this round"), reply.Error);
    }

    [Fact]
    public async Task RunAsync_TwoRoundsWithEvaluate_EachRoundUsesFreshKeysAndEvaluates()
    {
        var replies = new List<Message>();
        var grid = new TamperingGrid(Apps(5), reply: m => { replies.Add(m); return m; });
        var result = await new RunDriver(grid, new FedAvg(), Options(new SecAggPlusSettings(), rounds: 2)).RunAsync(Initial()).WaitAsync(TestTimeout);

        Assert.Equal([5, 5], result.History.Rounds.Select(r => r.Results));
        Assert.All(result.History.Rounds, r => Assert.Equal(0.5, r.Evaluate["accuracy"]));
        var keys = replies.Where(r => r.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.ContainsKey(SecAggNames.MaskKey))
            .Select(r => Convert.ToHexString(r.Content!.Configs[SecAggNames.Record][SecAggNames.MaskKey].AsBytes())).ToArray();
        Assert.Equal(10, keys.Length);
        Assert.Equal(10, keys.Distinct().Count());
    }

    [Fact]
    public async Task RunAsync_CentralDp_ClientsClipAndServerNoisesTheSum_SameModelAsPlainCentralDp()
    {
        // Clip norm 2 clips some updates (their norms are about 3.7); noise z = 0.5 and Poisson rate 0.8 with the
        // same seeds in both runs: the secure run differs from the plain one by the quantization error only.
        Strategy Dp() => new PrivacyReportingStrategy(new CentralDpStrategy(new FedAvg(), new CentralDpOptions { ClipNorm = 2, NoiseMultiplier = 0.5, SampleRate = 0.8 }));
        var secure = await new RunDriver(new DirectGrid(Apps(12)), Dp(), Options(new SecAggPlusSettings(), rounds: 2)).RunAsync(Initial()).WaitAsync(TestTimeout);
        var plain = await new RunDriver(new DirectGrid(Enumerable.Range(1, 12).ToDictionary(i => (long)i, i => new StepClient(i).ToClientApp())), Dp(), new RunOptions { Rounds = 2, RunId = "secagg-run", Seed = 3 }).RunAsync(Initial()).WaitAsync(TestTimeout);

        Assert.Equal(plain.History.Rounds.Select(r => r.Results), secure.History.Rounds.Select(r => r.Results));
        Assert.Equal(plain.History.Rounds[^1].Train[PrivacyNames.CumulativeUserEpsilon], secure.History.Rounds[^1].Train[PrivacyNames.CumulativeUserEpsilon]);
        var p = plain.Parameters["w"].AsSpan<float>();
        var s = secure.Parameters["w"].AsSpan<float>();
        for (int i = 0; i < p.Length; i++)
        {
            Assert.True(Math.Abs(p[i] - s[i]) < 1e-4, $"w[{i}] secure {s[i]} vs plain {p[i]}");
        }

        Assert.NotEqual(Initial()["w"].AsSpan<float>().ToArray(), s.ToArray());
    }

    private static string? Stage(Message m) =>
        m.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.TryGetValue(SecAggNames.Stage, out var s) ? s.AsString() : null;

    private static double Correlation(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average();
        double cov = 0, va = 0, vb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            cov += (a[i] - ma) * (b[i] - mb);
            va += (a[i] - ma) * (a[i] - ma);
            vb += (b[i] - mb) * (b[i] - mb);
        }

        return cov / Math.Sqrt(va * vb);
    }

    /// <summary>A grid that lets the test act as a curious or malicious server: it sees and may alter every message.</summary>
    private sealed class TamperingGrid(IReadOnlyDictionary<long, IClientApp> apps, Func<Message, Message>? instruction = null, Func<Message, Message>? reply = null) : IGrid
    {
        public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<NodeInfo>>([.. apps.Keys.Order().Select(id => new NodeInfo(id, $"n{id}"))]);

        public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var m in instructions)
            {
                var sent = instruction?.Invoke(m) ?? m;
                var answer = await apps[m.Metadata.DestinationNodeId].HandleAsync(sent, cancellationToken);
                yield return reply?.Invoke(answer) ?? answer;
            }
        }
    }
}
