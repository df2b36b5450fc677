using Federate.Core;
using Federate.Simulation;

namespace Federate.Simulation.Tests;

public class AttackTests
{
    private static Message TrainInstruction(float[] global) => new(
        new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, DestinationNodeId = 1, MessageId = "m" },
        new RecordDict { Arrays = { [RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(global, global.Length) } } } });

    private static ClientAppHandler Honest(float[] local) => (m, ct) =>
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(local.ToArray(), local.Length) } };
        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 5 };
        return ValueTask.FromResult(m.CreateReply(content));
    };

    private static async Task<float[]> Apply(Attack attack, float[] global, float[] local)
    {
        var app = new ModularClientApp(Honest(local), attack.CreateMod(seed: 1));
        var reply = await app.HandleAsync(TrainInstruction(global), CancellationToken.None);
        return reply.Content!.Arrays[RecordNames.Model]["w"].AsSpan<float>().ToArray();
    }

    [Fact]
    public async Task SignFlip_ReversesAndScalesByTen()
    {
        var w = await Apply(Attack.Parse("sign-flip:0.5", 4, 0), [1f, 2f], [1.5f, 1f]);
        Assert.Equal(new[] { 1f - 5f, 2f + 10f }, w);
    }

    [Fact]
    public async Task Scale_BoostsByClientCount()
    {
        var w = await Apply(Attack.Parse("scale:0.25", 4, 0), [1f, 2f], [1.5f, 1f]);
        Assert.Equal(new[] { 1f + 2f, 2f - 4f }, w);
    }

    [Fact]
    public async Task Gaussian_KeepsTheUpdateNorm()
    {
        var global = new float[1000];
        var local = Enumerable.Range(0, 1000).Select(i => (i % 3) * 0.01f).ToArray();
        var w = await Apply(Attack.Parse("gaussian:0.1", 10, 0), global, local);
        double honest = Math.Sqrt(local.Sum(v => (double)v * v));
        double attack = Math.Sqrt(w.Sum(v => (double)v * v));
        Assert.Equal(honest, attack, 4);
        Assert.NotEqual(local, w);
    }

    [Fact]
    public void Parse_ChoosesSeededAttackers()
    {
        var a = Attack.Parse("sign-flip:0.2", 20, 3);
        Assert.Equal(4, a.Attackers.Count);
        Assert.Equal(a.Attackers.Order(), Attack.Parse("sign-flip:0.2", 20, 3).Attackers.Order());
        Assert.True(Attack.Parse("label-flip:0.3", 10, 0).PoisonsLabels);
    }

    [Theory]
    [InlineData("sign-flip", "invalid attack")]
    [InlineData("sign-flip:abc", "invalid attack")]
    [InlineData("backdoor:0.2", "unknown attack kind 'backdoor'")]
    [InlineData("gaussian:1.5", "attack fraction must be in (0, 1)")]
    public void Parse_BadSpec_OneLineError(string spec, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => Attack.Parse(spec, 10, 0));
        Assert.StartsWith(expected, ex.Message);
    }
}
