namespace Federate.Learning.Data;

/// <summary>
/// How a segmentation dataset lays out its rows: each row is an image of <see cref="Channels"/> x
/// <see cref="Height"/> x <see cref="Width"/> values (C x H x W, PyTorch's layout) followed by its mask of
/// <see cref="Height"/> x <see cref="Width"/> pixel classes stored as floats (0 for background, 1 for the object).
/// Keeping the mask in the row lets it travel with its image through every shared step (partitioning, subsets,
/// shuffling, DP-SGD's Poisson sampling); segmentation models read only the image part as input, and
/// <see cref="Dataset.ClassNames"/> names the pixel classes.
/// </summary>
/// <param name="Channels">Image channels.</param>
/// <param name="Height">Image rows.</param>
/// <param name="Width">Image columns.</param>
public sealed record SegmentationLayout(int Channels, int Height, int Width)
{
    /// <summary>Values of the image part of a row.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>Pixels per image (values of the mask part of a row).</summary>
    public int PixelCount => Height * Width;

    /// <summary>Values per row: the image, then the mask.</summary>
    public int RowSize => ImageSize + PixelCount;

    /// <summary>The pixel class of every pixel of every row of <paramref name="data"/>, row-major Count x PixelCount.</summary>
    public int[] PixelLabels(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != RowSize)
        {
            throw new ArgumentException($"dataset '{data.Name}' has {data.FeatureCount} values per row; a {Channels}x{Height}x{Width} image and its mask need {RowSize}", nameof(data));
        }

        var labels = new int[(long)data.Count * PixelCount];
        for (int i = 0; i < data.Count; i++)
        {
            var mask = data.Row(i)[ImageSize..];
            for (int k = 0; k < PixelCount; k++)
            {
                labels[((long)i * PixelCount) + k] = (int)mask[k];
            }
        }

        return labels;
    }
}
