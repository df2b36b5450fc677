namespace Federate.Learning.Models.Layers;

/// <summary>The shape of one example's activations, channels x height x width (a flat vector is C x 1 x 1).</summary>
/// <param name="Channels">Channels (features for a flat vector).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
internal readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Values per example.</summary>
    public int Size => Channels * Height * Width;

    /// <summary>Channels x height x width.</summary>
    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
