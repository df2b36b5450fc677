using Federate.Learning;

namespace Federate.Learning.Tests.Data;

public class SyntheticSensorsTests
{
    [Fact]
    public void Generate_SameArguments_SameData()
    {
        var a = SyntheticSensors.Generate(500, seed: 7, site: 2);
        var b = SyntheticSensors.Generate(500, seed: 7, site: 2);
        var c = SyntheticSensors.Generate(500, seed: 8, site: 2);
        Assert.Equal(a.Features, b.Features);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Features, c.Features);
    }

    [Fact]
    public void Generate_ManyRows_ThreeConditionsInDesignedShares()
    {
        var data = SyntheticSensors.Generate(20000, seed: 1);
        Assert.Equal(6, data.FeatureCount);
        Assert.Equal(["normal", "overheating", "vibration_fault"], data.ClassNames);
        double overheating = data.Labels.Count(l => l == 1) / 20000.0;
        double vibration = data.Labels.Count(l => l == 2) / 20000.0;
        Assert.InRange(overheating, 0.14, 0.16);
        Assert.InRange(vibration, 0.14, 0.16);

        // Overheating readings are hotter on average (scaled temperature is column 0).
        double Mean(int label) => Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == label).Average(i => data.Row(i)[0]);
        Assert.True(Mean(1) > Mean(0) + 0.5);
    }

    [Fact]
    public void Catalog_SyntheticSensors_LoadsGeneratedCopy()
    {
        var split = DatasetCatalog.Load("synthetic_sensors");
        Assert.Equal(SyntheticSensors.CatalogRows, split.Train.Count);
        Assert.Null(split.Test);
        Assert.Contains(SyntheticSensors.Name, DatasetCatalog.Names);
    }
}
