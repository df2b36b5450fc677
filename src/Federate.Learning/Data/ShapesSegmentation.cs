namespace Federate.Learning.Data;

/// <summary>
/// A synthetic segmentation dataset (design 3's Dice, without patient data): grey images of circles, rectangles and
/// triangles on noisy backgrounds, each with its per-pixel mask. An image has a background level, a linear shading
/// across it and Gaussian pixel noise (standard deviation 0.5); 10% of images are empty, the others hold one or two
/// shapes 4 to 9 pixels in radius (in 32 x 32 images; in proportion for other sizes), each brighter than the background by 0.8 to 1.6. The noise and shading make a
/// per-pixel threshold a poor segmenter, a convolutional one a good one. Rows follow
/// <see cref="SegmentationLayout"/> (1 x S x S image, then the S x S mask of 0 = background, 1 = shape); the label of
/// an image is 1 when it shows a shape. The same arguments give the same data, bit for bit.
/// </summary>
public static class ShapesSegmentation
{
    /// <summary>The dataset name (<c>--dataset shapes-seg</c>).</summary>
    public const string Name = "shapes-seg";

    /// <summary>Images in the catalog's copy (<see cref="DatasetCatalog.Load"/>), generated with seed 0.</summary>
    public const int CatalogImages = 1200;

    /// <summary>Side of the catalog's square images, in pixels.</summary>
    public const int CatalogSize = 32;

    /// <summary>The pixel classes: 0 background, 1 shape.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["background", "shape"];

    /// <summary>Generates <paramref name="images"/> images of <paramref name="size"/> x <paramref name="size"/> pixels with their masks.</summary>
    public static Dataset Generate(int images, int seed, int size = CatalogSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 16);
        var layout = new SegmentationLayout(1, size, size);
        var random = new Random(seed);
        double Uniform(double low, double high) => low + ((high - low) * random.NextDouble());
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var x = new float[(long)images * layout.RowSize];
        var y = new int[images];
        for (int n = 0; n < images; n++)
        {
            var row = x.AsSpan((int)((long)n * layout.RowSize), layout.RowSize);
            var image = row[..layout.ImageSize];
            var mask = row[layout.ImageSize..];
            double level = Uniform(-0.3, 0.3);
            double shadeX = Uniform(-0.6, 0.6) / size;
            double shadeY = Uniform(-0.6, 0.6) / size;
            for (int i = 0; i < size; i++)
            {
                for (int j = 0; j < size; j++)
                {
                    image[(i * size) + j] = (float)(level + (shadeY * (i - (size / 2.0))) + (shadeX * (j - (size / 2.0))) + (0.5 * Normal()));
                }
            }

            double u = random.NextDouble();
            int shapes = u < 0.1 ? 0 : u < 0.55 ? 1 : 2;
            for (int s = 0; s < shapes; s++)
            {
                var shape = Shape.Random(random, size);
                double contrast = Uniform(0.8, 1.6);
                for (int i = 0; i < size; i++)
                {
                    for (int j = 0; j < size; j++)
                    {
                        if (shape.Contains(i + 0.5, j + 0.5))
                        {
                            image[(i * size) + j] += (float)contrast;
                            mask[(i * size) + j] = 1f;
                        }
                    }
                }
            }

            y[n] = mask.ContainsAnyExcept(0f) ? 1 : 0;
        }

        var featureNames = Enumerable.Range(0, layout.ImageSize).Select(k => $"pixel{k}")
            .Concat(Enumerable.Range(0, layout.PixelCount).Select(k => $"mask{k}")).ToArray();
        return new Dataset(Name, x, y, layout.RowSize, ClassNames, featureNames) { Segmentation = layout };
    }

    /// <summary>A circle, an axis-aligned rectangle or an equilateral triangle, centred at (row, column).</summary>
    private readonly record struct Shape(int Kind, double Row, double Column, double Radius, double HalfWidth, double Angle)
    {
        public static Shape Random(Random random, int size)
        {
            int kind = random.Next(3);
            double radius = (4 + (5 * random.NextDouble())) * size / 32.0;
            double row = radius + ((size - (2 * radius)) * random.NextDouble());
            double column = radius + ((size - (2 * radius)) * random.NextDouble());
            double halfWidth = radius * (0.5 + (0.5 * random.NextDouble()));
            double angle = 2 * Math.PI * random.NextDouble();
            return new Shape(kind, row, column, radius, halfWidth, angle);
        }

        public bool Contains(double i, double j)
        {
            double di = i - Row;
            double dj = j - Column;
            switch (Kind)
            {
                case 0:
                    return (di * di) + (dj * dj) <= Radius * Radius;
                case 1:
                    return Math.Abs(di) <= Radius && Math.Abs(dj) <= HalfWidth;
                default:
                    // Inside when on the inner side of all three edges (vertices at Angle + 2πk/3 on the circle).
                    for (int k = 0; k < 3; k++)
                    {
                        double a0 = Angle + (2 * Math.PI * k / 3);
                        double a1 = Angle + (2 * Math.PI * (k + 1) / 3);
                        double ei = Radius * (Math.Sin(a1) - Math.Sin(a0));
                        double ej = Radius * (Math.Cos(a1) - Math.Cos(a0));
                        double pi = di - (Radius * Math.Sin(a0));
                        double pj = dj - (Radius * Math.Cos(a0));
                        if ((ej * pi) - (ei * pj) < 0)
                        {
                            return false;
                        }
                    }

                    return true;
            }
        }
    }
}
