namespace Federate.Learning.Tests.Data;

public class ShapesSegmentationTests
{
    [Fact]
    public void Catalog_ShapesSeg_PinnedValuesFromSeedZero()
    {
        var data = DatasetCatalog.Load("shapes_seg").Train;

        Assert.Equal([-0.041156698f, 0.32783514f, 0.34320915f, -0.28384015f], data.Row(0)[..4].ToArray());
        Assert.Equal([-0.03250894f, 0.20602246f, -0.14028065f, 0.51722354f], data.Row(1199)[1020..1024].ToArray());
        Assert.Equal([110, 196, 43, 90, 0, 70, 55, 249, 291, 63, 148, 88], Enumerable.Range(0, 12).Select(i => data.Row(i)[1024..].ToArray().Count(v => v == 1f)));
        Assert.Equal([1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1], data.Labels.Take(12));
        Assert.Equal(128, data.Labels.Count(l => l == 0));
    }

    [Fact]
    public void Catalog_ShapesSeg_SegmentationLayoutAndNoTestSplit()
    {
        var split = DatasetCatalog.Load("shapes-seg");

        Assert.Null(split.Test);
        Assert.Equal(ShapesSegmentation.CatalogImages, split.Train.Count);
        Assert.Equal(new SegmentationLayout(1, 32, 32), split.Train.Segmentation);
        Assert.Equal(2048, split.Train.FeatureCount);
        Assert.Equal(["background", "shape"], split.Train.ClassNames);
        Assert.Contains("shapes-seg", DatasetCatalog.Names);
        Assert.Equal(split.Train.Segmentation, split.Train.Subset([3, 1]).Segmentation);
    }

    [Fact]
    public void Generate_SameArguments_SameData()
    {
        var a = ShapesSegmentation.Generate(50, seed: 7, size: 24);
        var b = ShapesSegmentation.Generate(50, seed: 7, size: 24);
        var c = ShapesSegmentation.Generate(50, seed: 8, size: 24);

        Assert.Equal(a.Features, b.Features);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Features, c.Features);
    }

    [Fact]
    public void Generate_ManyImages_MasksMatchLabelsAndShapesAreBrighter()
    {
        var data = ShapesSegmentation.Generate(2000, seed: 1, size: 32);
        var layout = data.Segmentation!;
        var pixels = layout.PixelLabels(data);

        Assert.All(pixels, p => Assert.True(p is 0 or 1));
        Assert.InRange(data.Labels.Count(l => l == 0) / 2000.0, 0.08, 0.12);
        Assert.InRange(pixels.Average(), 0.1, 0.2);
        double shape = 0;
        double background = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var image = data.Row(i)[..layout.ImageSize];
            int shapePixels = pixels.AsSpan(i * 1024, 1024).Count(1);
            Assert.Equal(shapePixels > 0 ? 1 : 0, data.Labels[i]);
            for (int k = 0; k < 1024; k++)
            {
                if (pixels[(i * 1024) + k] == 1)
                {
                    shape += image[k];
                }
                else
                {
                    background += image[k];
                }
            }
        }

        long shapeCount = pixels.Count(p => p == 1);
        Assert.InRange((shape / shapeCount) - (background / (pixels.Length - shapeCount)), 1.0, 1.4);
    }

    [Fact]
    public void PixelLabels_RowsOfAnotherSize_ThrowsNamingTheSizes()
    {
        var digits = DatasetCatalog.Load("digits").Train;

        var error = Assert.Throws<ArgumentException>(() => new SegmentationLayout(1, 32, 32).PixelLabels(digits));

        Assert.StartsWith("dataset 'digits' has 64 values per row; a 1x32x32 image and its mask need 2048", error.Message, StringComparison.Ordinal);
    }
}
