using Federate.Core;

namespace Federate.Core.Tests;

/// <summary>Strategy state export/import and the run driver's resume hook.</summary>
public sealed class ResumeTests
{
    [Fact]
    public void ServerOptimizerState_RoundTrip_NextStepIdentical()
    {
        var global = Records.Vector(1f, 2f, 3f);
        var a = new FedAdam { ServerLearningRate = 0.1 };
        var context = new RoundContext { RunId = "r", Round = 1, Seed = 0 };
        var agg = a.CreateTrainAggregator(context, global);
        agg.Add(Records.Reply(Records.Vector(2f, 1f, 5f), 10));
        var after1 = agg.Complete().Parameters!;

        var b = new FedAdam { ServerLearningRate = 0.1 };
        var path = Path.Combine(Path.GetTempPath(), $"federate-test-{Guid.NewGuid():N}.safetensors");
        Federate.Core.Formats.StateTensorFile.Write(path, StrategyState.ExportTensors(a));
        StrategyState.ImportTensors(b, path);
        File.Delete(path);
        var context2 = new RoundContext { RunId = "r", Round = 2, Seed = 0 };
        var aggA = a.CreateTrainAggregator(context2, after1);
        var aggB = b.CreateTrainAggregator(context2, after1);
        aggA.Add(Records.Reply(Records.Vector(0f, 0f, 0f), 10));
        aggB.Add(Records.Reply(Records.Vector(0f, 0f, 0f), 10));
        Assert.Equal(aggA.Complete().Parameters!["w"].AsSpan<float>().ToArray(), aggB.Complete().Parameters!["w"].AsSpan<float>().ToArray());
    }
}
