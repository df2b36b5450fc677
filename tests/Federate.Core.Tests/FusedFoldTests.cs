using System.Runtime.InteropServices;
using Federate.Core;

namespace Federate.Core.Tests;

/// <summary>
/// The fold with validation fused into it and the uninitialised running sum: the same bits as validating first and
/// folding into a zeroed sum, whatever the sum's memory held before, and the same refusals.
/// </summary>
public class FusedFoldTests
{
    private static readonly RoundContext Context = new() { RunId = "r", Round = 1, Seed = 0 };

    /// <summary>Two tensors, the first longer than several check blocks and not a multiple of the vector width.</summary>
    private static readonly int[] Lengths = [25_577, 37];

    private static ArrayRecord Model(Random rng, bool negativeZeros)
    {
        var record = new ArrayRecord();
        for (int t = 0; t < Lengths.Length; t++)
        {
            var x = new float[Lengths[t]];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = negativeZeros && i % 5 == 0 ? -0f : (float)((rng.NextDouble() * 2) - 1);
            }

            record.Add($"t{t}", Tensor.FromArray(x, x.Length));
        }

        return record;
    }

    /// <summary>
    /// The aggregation as it was: every update checked first, then <c>sum += w·x</c> into a zeroed sum, then the
    /// scale; a single update is its own mean, as it came.
    /// </summary>
    private static float[][] Reference(IReadOnlyList<(ArrayRecord Model, double Weight)> updates)
    {
        if (updates.Count == 1)
        {
            return [.. Lengths.Select((_, t) => updates[0].Model[$"t{t}"].AsSpan<float>().ToArray())];
        }

        var sums = Lengths.Select(n => new float[n]).ToArray();
        double total = 0;
        foreach (var (model, weight) in updates)
        {
            for (int t = 0; t < sums.Length; t++)
            {
                var x = model[$"t{t}"].AsSpan<float>();
                for (int i = 0; i < x.Length; i++)
                {
                    float product = x[i] * (float)weight;
                    sums[t][i] = product + sums[t][i];
                }
            }

            total += weight;
        }

        float scale = (float)(1.0 / total);
        foreach (var s in sums)
        {
            for (int i = 0; i < s.Length; i++)
            {
                s[i] *= scale;
            }
        }

        return sums;
    }

    private static void AssertBits(float[][] expected, ArrayRecord actual)
    {
        for (int t = 0; t < expected.Length; t++)
        {
            var bits = MemoryMarshal.Cast<float, uint>(actual[$"t{t}"].AsSpan<float>()).ToArray();
            Assert.Equal(MemoryMarshal.Cast<float, uint>(expected[t]).ToArray(), bits);
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(3, true)]
    public void Add_FusedCheckAndUninitialisedSum_BitIdenticalToCheckThenZeroedFold(int k, bool negativeZeros)
    {
        var rng = new Random(k);
        var updates = Enumerable.Range(0, k).Select(u => (Model(rng, negativeZeros), 3.0 + u)).ToList();
        var aggregator = new FedAvg().CreateTrainAggregator(Context, Model(rng, false));
        foreach (var (model, weight) in updates)
        {
            Assert.Null(aggregator.Add(Records.Reply(model, weight)));
        }

        AssertBits(Reference(updates), aggregator.Complete().Parameters!);
    }

    private static void FoldChunks(IUpdateFold fold, ArrayRecord model, int tensor, int fromElement, int toElement) =>
        fold.FoldChunk(tensor, fromElement, model[$"t{tensor}"].AsBytes()[(fromElement * sizeof(float))..(toElement * sizeof(float))]);

    private static IUpdateFold Begin(IStreamingTrainAggregator aggregator, long node, double weight) =>
        aggregator.BeginUpdate(node, new MetricRecord { [RecordNames.NumExamples] = weight });

    /// <summary>
    /// The first update is copied in unweighted and the second's fold weighs it in the same pass: whatever the order
    /// in which the chunks of the two interleave, skip ahead or come back, the bits are those of weighing every update
    /// first, and a single update comes out as it went in (negative zeros included).
    /// Told how many replies come (as a round's train stage tells it), the last update's fold also scales the sum into
    /// the mean: the same bits, and the scaling was done by that fold.
    /// </summary>
    [Theory]
    [InlineData("interleaved", false)]
    [InlineData("second-skips-ahead", false)]
    [InlineData("second-runs-ahead", false)]
    [InlineData("first-tail-first", false)]
    [InlineData("first-abandoned", false)]
    [InlineData("single", false)]
    [InlineData("interleaved", true)]
    [InlineData("second-skips-ahead", true)]
    [InlineData("second-runs-ahead", true)]
    [InlineData("first-tail-first", true)]
    [InlineData("first-abandoned", true)]
    [InlineData("single", true)]
    public void StreamedFold_FirstUpdateUnweighted_BitsOfWeighingEveryUpdateFirst(string order, bool told)
    {
        var rng = new Random(order.Length);
        var a = Model(rng, negativeZeros: true);
        var b = Model(rng, negativeZeros: true);
        var c = Model(rng, negativeZeros: false);
        var aggregator = (IStreamingTrainAggregator)new FedAvg().CreateTrainAggregator(Context, Model(rng, false));
        int replies = order switch { "single" => 1, "first-abandoned" => 2, _ => 3 };
        if (told)
        {
            aggregator.ExpectReplies(replies);
        }

        int n = Lengths[0];
        int third = n / 3;
        var committed = new List<(ArrayRecord, double)>();
        var fa = Begin(aggregator, 1, 2);
        switch (order)
        {
            case "interleaved":
            {
                var fb = Begin(aggregator, 2, 5);
                foreach (var (from, to) in new[] { (0, third), (third, 2 * third), (2 * third, n) })
                {
                    FoldChunks(fa, a, 0, from, to);
                    FoldChunks(fb, b, 0, from, to);
                }

                FoldChunks(fb, b, 1, 0, Lengths[1]);
                FoldChunks(fa, a, 1, 0, Lengths[1]);
                fa.Commit();
                fb.Commit();
                committed.AddRange([(a, 2), (b, 5)]);
                break;
            }

            case "second-skips-ahead":
            case "second-runs-ahead":
            {
                // The first update whole, or only its first third when the second runs past it into elements not
                // written yet; then the second update's tail before its head.
                bool ahead = order == "second-runs-ahead";
                FoldChunks(fa, a, 0, 0, ahead ? third : n);
                FoldChunks(fa, a, 1, 0, Lengths[1]);
                var fb = Begin(aggregator, 2, 5);
                FoldChunks(fb, b, 0, 2 * third, n);
                FoldChunks(fb, b, 0, 0, 2 * third);
                FoldChunks(fb, b, 1, 0, Lengths[1]);
                fb.Commit();
                if (ahead)
                {
                    FoldChunks(fa, a, 0, third, n);
                }

                fa.Commit();
                committed.AddRange(ahead ? [(b, 5), (a, 2)] : [(a, 2), (b, 5)]);
                break;
            }

            case "first-tail-first":
            {
                FoldChunks(fa, a, 0, third, n);
                FoldChunks(fa, a, 0, 0, third);
                FoldChunks(fa, a, 1, 0, Lengths[1]);
                fa.Commit();
                var fb = Begin(aggregator, 2, 5);
                FoldChunks(fb, b, 0, 0, n);
                FoldChunks(fb, b, 1, 0, Lengths[1]);
                fb.Commit();
                committed.AddRange([(a, 2), (b, 5)]);
                break;
            }

            case "first-abandoned":
            {
                // Taken back exactly: the unweighted copy minus itself is zero.
                FoldChunks(fa, a, 0, 0, 2 * third);
                fa.UnfoldChunk(0, 0, a["t0"].AsBytes()[..(2 * third * sizeof(float))]);
                var fb = Begin(aggregator, 2, 5);
                FoldChunks(fb, b, 0, 0, n);
                FoldChunks(fb, b, 1, 0, Lengths[1]);
                fb.Commit();
                committed.Add((b, 5));
                break;
            }

            default:
                FoldChunks(fa, a, 0, 0, third);
                FoldChunks(fa, a, 0, third, n);
                FoldChunks(fa, a, 1, 0, Lengths[1]);
                fa.Commit();
                committed.Add((a, 2));
                break;
        }

        if (order != "single")
        {
            var fc = Begin(aggregator, 3, 7);
            FoldChunks(fc, c, 0, 0, n);
            FoldChunks(fc, c, 1, 0, Lengths[1]);
            fc.Commit();
            committed.Add((c, 7));
        }

        Assert.Equal(replies, committed.Count);
        Assert.Equal(told && replies > 1 ? Lengths.Sum() : 0, ((WeightedMeanAggregator)aggregator).ScaledByLastFold);
        AssertBits(Reference(committed), aggregator.Complete().Parameters!);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    public void Add_ToldHowManyReplies_LastFoldScales_SameBits(int k)
    {
        var rng = new Random(100 + k);
        var updates = Enumerable.Range(0, k).Select(u => (Model(rng, u % 2 == 0), 1.0 + (u * 2.5))).ToList();
        var aggregator = new WeightedMeanAggregator(Model(rng, false));
        aggregator.ExpectReplies(k);
        foreach (var (model, weight) in updates)
        {
            Assert.Null(aggregator.Add(Records.Reply(model, weight)));
        }

        Assert.Equal(Lengths.Sum(), aggregator.ScaledByLastFold);
        AssertBits(Reference(updates), aggregator.Complete().Parameters!);
    }

    [Fact]
    public void Add_FewerRepliesThanTold_NothingScaledEarly_SameBits()
    {
        var rng = new Random(21);
        var updates = Enumerable.Range(0, 3).Select(u => (Model(rng, false), 2.0 + u)).ToList();
        var aggregator = new WeightedMeanAggregator(Model(rng, false));
        aggregator.ExpectReplies(5);
        foreach (var (model, weight) in updates)
        {
            Assert.Null(aggregator.Add(Records.Reply(model, weight)));
        }

        Assert.Equal(0, aggregator.ScaledByLastFold);
        AssertBits(Reference(updates), aggregator.Complete().Parameters!);
    }

    /// <summary>
    /// The hint was wrong or the last update did not stay: a reply after the one that scaled, the last update refused
    /// for a NaN in its second tensor, or taken back halfway through its stream and followed by another. The sum is
    /// brought back to a sum first, so the mean is that of the updates accepted (to float rounding: taking a fold back
    /// was never exact).
    /// </summary>
    [Theory]
    [InlineData("one-more")]
    [InlineData("last-refused")]
    [InlineData("last-taken-back")]
    public void LastFold_ScaledThenNotTheLast_MeanOfTheAcceptedUpdates(string scenario)
    {
        var rng = new Random(scenario.Length);
        var models = Enumerable.Range(0, 4).Select(_ => Model(rng, false)).ToArray();
        var aggregator = new WeightedMeanAggregator(Model(rng, false));
        aggregator.ExpectReplies(3);
        Assert.Null(aggregator.Add(Records.Reply(models[0], 2)));
        Assert.Null(aggregator.Add(Records.Reply(models[1], 3)));
        var accepted = new List<(ArrayRecord, double)> { (models[0], 2), (models[1], 3) };
        switch (scenario)
        {
            case "one-more":
                Assert.Null(aggregator.Add(Records.Reply(models[2], 4)));
                Assert.Equal(Lengths.Sum(), aggregator.ScaledByLastFold);
                accepted.Add((models[2], 4));
                break;
            case "last-refused":
                models[2]["t1"].AsSpan<float>()[5] = float.NaN;
                Assert.NotNull(aggregator.Add(Records.Reply(models[2], 4)));
                Assert.Equal(0, aggregator.ScaledByLastFold);
                break;
            default:
                var fold = Begin(aggregator, 3, 4);
                FoldChunks(fold, models[2], 0, 0, Lengths[0] / 2);
                Assert.Equal(Lengths[0] / 2, aggregator.ScaledByLastFold);
                fold.UnfoldChunk(0, 0, models[2]["t0"].AsBytes()[..(Lengths[0] / 2 * sizeof(float))]);
                Assert.Equal(0, aggregator.ScaledByLastFold);
                break;
        }

        Assert.Null(aggregator.Add(Records.Reply(models[3], 5)));
        accepted.Add((models[3], 5));
        var expected = Reference(accepted);
        var actual = aggregator.Complete().Parameters!;
        for (int t = 0; t < expected.Length; t++)
        {
            var values = actual[$"t{t}"].AsSpan<float>().ToArray();
            for (int i = 0; i < values.Length; i++)
            {
                Assert.True(Math.Abs(values[i] - expected[t][i]) <= 1e-6f, $"t{t}[{i}]: {values[i]} against {expected[t][i]}");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fold_NonTemporalStores_SameBitsAndSameStopAsPlainStores(bool copy)
    {
        var kind = copy ? FoldKind.Copy : FoldKind.Initialize;
        var rng = new Random(5);
        var x = Enumerable.Range(0, 5000).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (int start in new[] { 0, 1, 3, 7, 15, 16 })
        {
            foreach (int length in new[] { 0, 5, 16, 17, 100, 4095 })
            {
                var plain = Enumerable.Repeat(9f, 5000).ToArray();
                var streamed = (float[])plain.Clone();
                var update = x.AsSpan(start + 1, length);
                int a = AggregationKernels.Fold(plain.AsSpan(start, length), update, 0.75f, kind, 1f, check: true, 1f);
                int b = AggregationKernels.Fold(streamed.AsSpan(start, length), update, 0.75f, kind, 1f, check: true, 1f, nonTemporal: true);
                Assert.Equal(length, a);
                Assert.Equal(a, b);
                Assert.Equal(plain, streamed);
            }
        }

        foreach (int position in new[] { 0, 3, 40, 1000, 4094 })
        {
            var bad = (float[])x.Clone();
            bad[position] = float.NaN;
            var acc = Enumerable.Repeat(9f, 4095).ToArray();
            int done = AggregationKernels.Fold(acc.AsSpan(), bad.AsSpan(0, 4095), 0.75f, kind, 1f, check: true, 1f, nonTemporal: true);
            Assert.InRange(done, Math.Max(0, position - 15), position);
            for (int i = 0; i < done; i++)
            {
                Assert.Equal(copy ? x[i] : (x[i] * 0.75f) + 0f, acc[i]);
            }

            Assert.All(acc[done..], v => Assert.Equal(9f, v));
        }

        var wide = Enumerable.Range(0, 1001).Select(i => i * 0.25).ToArray();
        var wideAcc = new double[1001];
        Assert.Equal(1001, AggregationKernels.Fold(wideAcc.AsSpan(), wide, 2.0, kind, 1.0, check: true, 1.0, nonTemporal: true));
        Assert.Equal(copy ? wide : wide.Select(v => v * 2.0).ToArray(), wideAcc);
    }

    [Fact]
    public void Complete_OneUpdateAfterAnAbandonedOne_WeighedAndScaledLikeTheOthers()
    {
        // The abandoned update was the first: the one committed after it was weighed when folded, so its mean is
        // (w·x + 0)·(1/w), as with two or more updates, not the update as it came.
        var rng = new Random(3);
        var a = Model(rng, false);
        var b = Model(rng, true);
        var aggregator = (IStreamingTrainAggregator)new FedAvg().CreateTrainAggregator(Context, Model(rng, false));
        var fa = Begin(aggregator, 1, 2);
        FoldChunks(fa, a, 0, 0, 100);
        fa.UnfoldChunk(0, 0, a["t0"].AsBytes()[..400]);
        var fb = Begin(aggregator, 2, 3);
        FoldChunks(fb, b, 0, 0, Lengths[0]);
        FoldChunks(fb, b, 1, 0, Lengths[1]);
        fb.Commit();
        var actual = aggregator.Complete().Parameters!;
        float scale = (float)(1.0 / 3);
        for (int t = 0; t < Lengths.Length; t++)
        {
            var x = b[$"t{t}"].AsSpan<float>();
            var expected = new float[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                expected[i] = ((x[i] * 3f) + 0f) * scale;
            }

            Assert.Equal(MemoryMarshal.Cast<float, uint>(expected).ToArray(), MemoryMarshal.Cast<float, uint>(actual[$"t{t}"].AsSpan<float>()).ToArray());
        }
    }

    [Fact]
    public void Rounds_SumReusesMemoryOfDeadModels_ResultsIdentical()
    {
        // A model above ModelBuffers.ReclaimThresholdBytes, so every round collects garbage and its running sum takes
        // the memory of arrays that died: here arrays full of NaN, and the previous round's result.
        int n = (int)(ModelBuffers.ReclaimThresholdBytes / sizeof(float)) + 4099;
        var rng = new Random(7);
        var updates = Enumerable.Range(0, 2).Select(_ =>
        {
            var x = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)rng.NextDouble();
            }

            return x;
        }).ToArray();
        var global = new ArrayRecord { { "w", Tensor.FromArray(new float[n], n) } };
        uint[]? first = null;
        for (int round = 0; round < 3; round++)
        {
            FillGarbage(n);
            var aggregator = new FedAvg().CreateTrainAggregator(Context, global);
            Assert.Null(aggregator.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(updates[0], n) } }, 1)));
            Assert.Null(aggregator.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(updates[1], n) } }, 3)));
            var bits = MemoryMarshal.Cast<float, uint>(aggregator.Complete().Parameters!["w"].AsSpan<float>()).ToArray();
            first ??= bits;
            Assert.Equal(first, bits);
        }

        float scale = (float)(1.0 / 4);
        var reference = new float[n];
        for (int i = 0; i < n; i++)
        {
            reference[i] = ((updates[1][i] * 3f) + ((updates[0][i] * 1f) + 0f)) * scale;
        }

        Assert.Equal(MemoryMarshal.Cast<float, uint>(reference).ToArray(), first);
    }

    private static void FillGarbage(int n)
    {
        for (int i = 0; i < 3; i++)
        {
            var garbage = GC.AllocateUninitializedArray<float>(n);
            garbage.AsSpan().Fill(float.NaN);
            GC.KeepAlive(garbage);
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 20_000)]
    [InlineData(1, 36)]
    public void Add_NonFiniteInLaterBlockOrTensor_RefusedWithSameErrorAndSumRestored(int tensor, int position)
    {
        // Small integers: every sum and undo is exact, so the restored state can be compared exactly.
        var global = new ArrayRecord { { "t0", Tensor.FromArray(new float[Lengths[0]], Lengths[0]) }, { "t1", Tensor.FromArray(new float[Lengths[1]], Lengths[1]) } };
        ArrayRecord Ints(int seed) => new()
        {
            { "t0", Tensor.FromArray([.. Enumerable.Range(0, Lengths[0]).Select(i => (float)((i + seed) % 13))], Lengths[0]) },
            { "t1", Tensor.FromArray([.. Enumerable.Range(0, Lengths[1]).Select(i => (float)((i * seed) % 7))], Lengths[1]) },
        };

        foreach (bool badFirst in new[] { true, false })
        {
            foreach (var bad in new[] { float.NaN, float.NegativeInfinity })
            {
                var aggregator = new FedAvg().CreateTrainAggregator(Context, global);
                var poisoned = Ints(5);
                poisoned[$"t{tensor}"].AsSpan<float>()[position] = bad;
                if (!badFirst)
                {
                    Assert.Null(aggregator.Add(Records.Reply(Ints(1), 2)));
                }

                Assert.Equal($"update tensor 't{tensor}' contains NaN or infinity", aggregator.Add(Records.Reply(poisoned, 4)));
                Assert.Equal(badFirst ? 0 : 1, aggregator.Count);
                Assert.Null(aggregator.Add(Records.Reply(Ints(2), 2)));
                var result = aggregator.Complete().Parameters!;
                var expected = badFirst ? Ints(2) : Ints(1);
                for (int t = 0; t < 2; t++)
                {
                    var want = expected[$"t{t}"].AsSpan<float>().ToArray();
                    if (!badFirst)
                    {
                        var other = Ints(2)[$"t{t}"].AsSpan<float>();
                        for (int i = 0; i < want.Length; i++)
                        {
                            want[i] = ((want[i] * 2f) + (other[i] * 2f)) * 0.25f;
                        }
                    }

                    Assert.Equal(want, result[$"t{t}"].AsSpan<float>().ToArray());
                }
            }
        }
    }

    [Fact]
    public void StreamedFold_AbandonedFirstUpdateAndChunksOutOfOrder_SameAsWholeFold()
    {
        var rng = new Random(11);
        var a = Model(rng, true);
        var b = Model(rng, false);
        var global = Model(rng, false);
        var whole = new FedAvg().CreateTrainAggregator(Context, global);
        Assert.Null(whole.Add(Records.Reply(a, 2)));
        Assert.Null(whole.Add(Records.Reply(b, 5)));
        var expected = whole.Complete().Parameters!;

        var streamed = (IStreamingTrainAggregator)new FedAvg().CreateTrainAggregator(Context, global);

        // An update abandoned after its first half of tensor 0: the written part is taken back out exactly (to +0).
        var abandoned = streamed.BeginUpdate(9, new MetricRecord { [RecordNames.NumExamples] = 3 });
        var head = b["t0"].AsBytes()[..(Lengths[0] / 2 * 4)];
        abandoned.FoldChunk(0, 0, head);
        abandoned.UnfoldChunk(0, 0, head);

        // Then a's chunks, tensor 0's tail before its head (the tail skips past what was ever written).
        var fold = streamed.BeginUpdate(1, new MetricRecord { [RecordNames.NumExamples] = 2 });
        int split = (Lengths[0] * 3 / 4) * 4;
        fold.FoldChunk(0, split / 4, a["t0"].AsBytes()[split..]);
        fold.FoldChunk(0, 0, a["t0"].AsBytes()[..split]);
        fold.FoldChunk(1, 0, a["t1"].AsBytes());
        fold.Commit();
        var second = streamed.BeginUpdate(2, new MetricRecord { [RecordNames.NumExamples] = 5 });
        second.FoldChunk(0, 0, b["t0"].AsBytes());
        second.FoldChunk(1, 0, b["t1"].AsBytes());
        second.Commit();
        var actual = streamed.Complete().Parameters!;
        for (int t = 0; t < Lengths.Length; t++)
        {
            Assert.Equal(
                MemoryMarshal.Cast<float, uint>(expected[$"t{t}"].AsSpan<float>()).ToArray(),
                MemoryMarshal.Cast<float, uint>(actual[$"t{t}"].AsSpan<float>()).ToArray());
        }
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedadam")]
    public void TryFoldFiniteChunk_NonFiniteChunk_RefusedAndNothingOfItFolded(string strategy)
    {
        var global = new ArrayRecord { { "w", Tensor.FromArray(new float[64], 64) } };
        var aggregator = (IStreamingTrainAggregator)StrategyCatalog.Create(strategy, new SamplingOptions(), new StrategyOptions()).CreateTrainAggregator(Context, global);
        var good = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        var bad = (float[])good.Clone();
        bad[40] = float.NaN;
        var fold = aggregator.BeginUpdate(1, new MetricRecord { [RecordNames.NumExamples] = 2 });
        Assert.True(fold.TryFoldFiniteChunk(0, 0, MemoryMarshal.AsBytes(good.AsSpan(0, 32)), DType.Float32));
        Assert.False(fold.TryFoldFiniteChunk(0, 32, MemoryMarshal.AsBytes(bad.AsSpan(32)), DType.Float32));
        Assert.True(fold.TryFoldFiniteChunk(0, 32, MemoryMarshal.AsBytes(good.AsSpan(32)), DType.Float32));
        fold.Commit();
        var whole = StrategyCatalog.Create(strategy, new SamplingOptions(), new StrategyOptions()).CreateTrainAggregator(Context, global);
        Assert.Null(whole.Add(Records.Reply(new ArrayRecord { { "w", Tensor.FromArray(good, 64) } }, 2)));
        Assert.Equal(
            MemoryMarshal.Cast<float, uint>(whole.Complete().Parameters!["w"].AsSpan<float>()).ToArray(),
            MemoryMarshal.Cast<float, uint>(aggregator.Complete().Parameters!["w"].AsSpan<float>()).ToArray());
    }

    [Fact]
    public void Complete_EveryUpdateTakenBack_NoParameters()
    {
        var streamed = (IStreamingTrainAggregator)new FedAvg().CreateTrainAggregator(Context, Records.Vector(1, 2, 3));
        var fold = streamed.BeginUpdate(1, new MetricRecord { [RecordNames.NumExamples] = 1 });
        var x = Records.Vector(4, 5, 6)["w"].AsBytes();
        fold.FoldChunk(0, 0, x);
        fold.UnfoldChunk(0, 0, x);
        Assert.Null(streamed.Complete().Parameters);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(33)]
    [InlineData(4099)]
    public void AllFinite_Float64_DetectsNaNAndInfinityAtEveryPosition(int length)
    {
        var x = Enumerable.Range(0, length).Select(i => (i % 2 == 0 ? double.MaxValue : -double.Epsilon) * ((i % 3) - 1)).ToArray();
        Assert.True(AggregationKernels.AllFinite(x));
        for (int i = 0; i < length; i += Math.Max(1, length / 11))
        {
            foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            {
                var saved = x[i];
                x[i] = bad;
                Assert.False(AggregationKernels.AllFinite(x));
                x[i] = saved;
            }
        }
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1000, false)]
    [InlineData(1000, true)]
    [InlineData(1030, true)]
    public void FoldWeightedChecked_NonFinite_StopsAtMostAVectorBeforeItAndLeavesTheRestUntouched(int position, bool initialize)
    {
        var x = Enumerable.Repeat(2f, 1031).ToArray();
        x[position] = float.PositiveInfinity;
        var acc = Enumerable.Repeat(1f, x.Length).ToArray();
        int folded = AggregationKernels.FoldWeightedChecked(acc, x, 0.5f, initialize);
        Assert.InRange(folded, Math.Max(0, position - 15), position);
        Assert.All(acc[..folded], v => Assert.Equal(initialize ? 1f : 2f, v));
        Assert.All(acc[folded..], v => Assert.Equal(1f, v));

        var wide = Enumerable.Repeat(2.0, 1031).ToArray();
        wide[position] = double.NaN;
        var wideAcc = new double[wide.Length];
        folded = AggregationKernels.FoldWeightedChecked(wideAcc, wide, 0.5, initialize);
        Assert.InRange(folded, Math.Max(0, position - 7), position);
        Assert.All(wideAcc[..folded], v => Assert.Equal(1.0, v));
        Assert.All(wideAcc[folded..], v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Reclaim_SmallOrNothingAllocatedSince_DoesNotCollect()
    {
        Assert.False(ModelBuffers.Reclaim(ModelBuffers.ReclaimThresholdBytes - 1));
        long bytes = ModelBuffers.ReclaimThresholdBytes;
        GC.KeepAlive(new byte[bytes]);
        int before = GC.CollectionCount(2);
        ModelBuffers.Reclaim(bytes);
        Assert.True(GC.CollectionCount(2) > before);

        // Far less was allocated since that collection than this (other tests may allocate meanwhile, not 1 PB).
        Assert.False(ModelBuffers.Reclaim(1L << 50));
    }
}
