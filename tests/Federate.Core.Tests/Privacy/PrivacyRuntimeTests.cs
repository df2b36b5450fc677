using Federate.Core.Privacy;

namespace Federate.Core.Tests.Privacy;

public class PrivacyRuntimeTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static Message Instruction(MessageType type, int round = 1)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = Records.Vector(0);
        content.Configs[RecordNames.Config] = new ConfigRecord();
        return new Message(new MessageMetadata { RunId = "r", Round = round, MessageType = type, DestinationNodeId = 1 }, content);
    }

    private static Message Reply(long node, double epsilon, double roundEpsilon, double user)
    {
        var reply = Records.Reply(Records.Vector(1), 10, node);
        var metrics = reply.Content!.Metrics[RecordNames.Metrics];
        metrics[PrivacyNames.Epsilon] = epsilon;
        metrics[PrivacyNames.RoundEpsilon] = roundEpsilon;
        metrics[PrivacyNames.UserEpsilon] = user;
        metrics[PrivacyNames.NoiseMultiplier] = 1.0;
        metrics[PrivacyNames.SampleRate] = 0.1;
        metrics[PrivacyNames.Steps] = 10 * node;
        metrics[PrivacyNames.Delta] = 1e-5;
        return reply;
    }

    [Fact]
    public void GaussianNoise_SameSeed_SameValues_StandardMoments()
    {
        var a = new double[100_001];
        var b = new double[100_001];
        new GaussianNoise(42).Fill(a, 1);
        new GaussianNoise(42).Fill(b, 1);
        Assert.Equal(a, b);
        Assert.InRange(a.Average(), -0.01, 0.01);
        Assert.InRange(Math.Sqrt(a.Average(v => v * v)), 0.99, 1.01);
        var c = new double[16];
        new GaussianNoise(43).Fill(c, 1);
        Assert.NotEqual(a[..16], c);
    }

    [Fact]
    public void GaussianNoise_FloatPath_SeededAndStandardNormal()
    {
        var a = new float[200_003];
        var b = new float[200_003];
        new GaussianNoise(9).FillStandard(a);
        var g = new GaussianNoise(9);
        g.FillStandard(b.AsSpan(0, 1000)); // pooled: split calls give the same stream
        g.FillStandard(b.AsSpan(1000));
        Assert.Equal(a, b);
        double mean = a.Average(v => (double)v);
        double variance = a.Average(v => (double)v * v) - (mean * mean);
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.985, 1.015);
        Assert.InRange(a.Count(v => Math.Abs(v) > 2) / (double)a.Length, 0.0435, 0.0475); // 0.0455 for N(0, 1)
        Assert.InRange(a.Average(v => Math.Pow(v, 4)), 2.9, 3.1); // kurtosis 3

        var values = new float[1000];
        new GaussianNoise(1).AddTo(values, 0);
        Assert.All(values, v => Assert.Equal(0f, v));
    }

    [Fact]
    public async Task BudgetMod_TrainBeyondBudget_RefusesWithPrivacyBudgetCode()
    {
        bool called = false;
        var app = new ModularClientApp(
            (m, ct) => { called = true; return ValueTask.FromResult(m.CreateReply(new RecordDict())); },
            PrivacyBudgetMod.Create(3.0, _ => 3.5));
        var reply = await app.HandleAsync(Instruction(MessageType.Train, 4), CancellationToken.None);
        Assert.False(called);
        Assert.Equal("privacy_budget", reply.Error!.Code);
        Assert.Contains("round 4", reply.Error.Reason);
        Assert.Contains("--max-epsilon 3", reply.Error.Reason);
        Assert.DoesNotContain('\n', reply.Error.Reason);

        var evaluate = await app.HandleAsync(Instruction(MessageType.Evaluate), CancellationToken.None);
        Assert.Null(evaluate.Error);
        Assert.True(called);
    }

    [Fact]
    public async Task BudgetMod_WithinBudget_Trains()
    {
        var app = new ModularClientApp((m, ct) => ValueTask.FromResult(m.CreateReply(new RecordDict())), PrivacyBudgetMod.Create(3.0, _ => 2.9));
        Assert.Null((await app.HandleAsync(Instruction(MessageType.Train), CancellationToken.None)).Error);
    }

    [Fact]
    public async Task RunDriver_BeforeRoundVeto_StopsWithPrivacyBudget()
    {
        var apps = new Dictionary<long, IClientApp> { [1] = new FixedClient((p, r) => Records.Vector(r), 1, _ => 0.5).ToClientApp() };
        var options = new RunOptions { Rounds = 10 };
        options.StopRules.Add(StopRules.BeforeRound(round => round == 3 ? (StopReasons.PrivacyBudget, "round 3 would raise epsilon to 9, above 8") : null));
        var result = await new RunDriver(new DirectGrid(apps), new FedAvg(), options).RunAsync(Records.Vector(0)).WaitAsync(TestTimeout);
        Assert.Equal(2, result.History.Rounds.Count);
        Assert.Equal("privacy_budget", result.History.StopReason);
        Assert.Equal("round 3 would raise epsilon to 9, above 8", result.History.StopDetail);
    }

    [Fact]
    public void RunBudget_CentralProjectionAboveTarget_VetoesRound()
    {
        var central = new CentralDpStrategy(new FedAvg(), new CentralDpOptions { NoiseMultiplier = 1, SampleRate = 1 });
        var one = new RdpAccountant();
        one.Step(1, 1, 1);
        double first = one.GetEpsilon(1e-5);
        Assert.Null(PrivacyRunBudget.Create(first + 1e-9, 1e-5, central, null)(1));
        var veto = PrivacyRunBudget.Create(first - 1e-9, 1e-5, central, null)(1);
        Assert.Equal("privacy_budget", veto!.Value.Reason);
        Assert.StartsWith("round 1 would raise the user-level epsilon to", veto.Value.Detail);
    }

    [Fact]
    public void RunBudget_SampleProjection_VetoesOnlyAboveTarget()
    {
        Assert.Null(PrivacyRunBudget.Create(5, 1e-5, null, () => null)(1));
        Assert.Null(PrivacyRunBudget.Create(5, 1e-5, null, () => 4.9)(2));
        var veto = PrivacyRunBudget.Create(5, 1e-5, null, () => 5.1)(3);
        Assert.Contains("round 3 would raise the sample-level epsilon to 5.1", veto!.Value.Detail);
    }

    [Fact]
    public void ReportingStrategy_Replies_MaxOverClientsAndCumulativeAcrossRounds()
    {
        var strategy = new PrivacyReportingStrategy(new FedAvg());
        var context = new RoundContext { RunId = "r", Round = 1, Seed = 0 };
        var aggregator = strategy.CreateTrainAggregator(context, Records.Vector(0));
        Assert.Null(aggregator.Add(Reply(1, epsilon: 2.0, roundEpsilon: 2.0, user: 50)));
        Assert.Null(aggregator.Add(Reply(2, epsilon: 3.0, roundEpsilon: 3.0, user: 40)));
        var first = aggregator.Complete().Metrics;
        Assert.Equal(3.0, first[PrivacyNames.RoundSampleEpsilon]);
        Assert.Equal(3.0, first[PrivacyNames.CumulativeSampleEpsilon]);
        Assert.Equal(50, first[PrivacyNames.CumulativeUserEpsilon]);
        Assert.Equal(20, first[PrivacyNames.Steps]);
        Assert.False(first.ContainsKey(PrivacyNames.Epsilon));

        // Round 2: only client 1 trains; client 2 keeps its cumulative 3.0.
        aggregator = strategy.CreateTrainAggregator(context, Records.Vector(0));
        Assert.Null(aggregator.Add(Reply(1, epsilon: 2.8, roundEpsilon: 2.0, user: 100)));
        var second = aggregator.Complete().Metrics;
        Assert.Equal(2.8, second[PrivacyNames.RoundSampleEpsilon]);
        Assert.Equal(3.0, second[PrivacyNames.CumulativeSampleEpsilon]);
        Assert.Equal(100, second[PrivacyNames.CumulativeUserEpsilon]);

        // The server projects client 1's next round from the (sigma, q, steps) it reported twice.
        var reference = new RdpAccountant();
        reference.Step(1.0, 0.1, 30);
        Assert.True(strategy.ProjectNextRoundSampleEpsilon() >= reference.GetEpsilon(1e-5) - 1e-12);
    }

    [Fact]
    public void AggregateEvaluate_Dice_WeightedByExamples()
    {
        Message Eval(double dice, double n)
        {
            var content = new RecordDict();
            content.Metrics[RecordNames.Metrics] = new MetricRecord { ["loss"] = 0.1, ["dice"] = dice, [RecordNames.NumExamples] = n };
            return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Evaluate }, content);
        }

        var strategy = new PrivacyReportingStrategy(new FedAvg());
        var metrics = strategy.AggregateEvaluate(new RoundContext { RunId = "r", Round = 1, Seed = 0 }, [Eval(0.8, 1), Eval(0.5, 3)]);
        Assert.Equal((0.8 + 1.5) / 4, metrics["dice"], 12);
        Assert.Equal(4, metrics[RecordNames.NumExamples]);
    }

    [Fact]
    public void ClientPrivacyState_ExportImport_RoundTripsExactly()
    {
        var state = new ClientPrivacyState(1e-6);
        state.Record(new DpSgdRound(1.2, 0.05, 40, 100));
        state.Record(new DpSgdRound(0.9, 0.1, 20, 100));
        var copy = ClientPrivacyState.Import(state.Export());
        Assert.Equal(state.Epsilon, copy.Epsilon);
        Assert.Equal(2, copy.Rounds);
        Assert.Equal(1e-6, copy.Delta);
        var next = new DpSgdRound(1.0, 0.1, 10, 100);
        Assert.Equal(state.ProjectEpsilon(next), copy.ProjectEpsilon(next));
        Assert.Equal(state.Record(next), copy.Record(next));
        Assert.Throws<FormatException>(() => ClientPrivacyState.Import("{\"delta\":1e-5}"));
    }

    [Fact]
    public void ClientPrivacyState_SaveThenLoad_ContinuesAcrossRestarts()
    {
        var path = Path.Combine(Path.GetTempPath(), "federate-privacy-tests", Guid.NewGuid().ToString("N"), "ledger.json");
        var fresh = ClientPrivacyState.LoadOrCreate(path, 1e-5);
        Assert.Equal(0, fresh.Epsilon);
        fresh.Record(new DpSgdRound(1.0, 0.1, 50, 200));
        fresh.Save(path);
        var restarted = ClientPrivacyState.LoadOrCreate(path, 1e-5);
        Assert.Equal(fresh.Epsilon, restarted.Epsilon);
        Assert.Equal(1, restarted.Rounds);
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Throws<InvalidDataException>(() => ClientPrivacyState.LoadOrCreate(path, 1e-6));
    }

    [Fact]
    public void ClientPrivacyStore_SameKey_SameLedger()
    {
        var store = new ClientPrivacyStore(1e-5);
        Assert.Same(store.Get(3), store.Get(3));
        Assert.NotSame(store.Get(3), store.Get(4));
    }
}
