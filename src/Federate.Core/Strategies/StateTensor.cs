namespace Federate.Core.Strategies;

/// <summary>
/// One tensor of a strategy's state (a server optimizer's moment, say), saved in the checkpoint's state file in the
/// safetensors format. Its data is written by <see cref="WriteData"/> block by block, so a model-sized state never has
/// to be held in memory to be checkpointed.
/// </summary>
/// <param name="Name">The tensor's name in the state file (unique within a strategy; wrappers prefix their inner strategy's).</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="WriteData">Writes exactly the tensor's little-endian bytes to the stream.</param>
public sealed record StateTensor(string Name, DType DType, long[] Shape, Action<Stream> WriteData)
{
    /// <summary>Number of bytes <see cref="WriteData"/> writes.</summary>
    public long ByteLength => Tensor.ElementCount(Shape) * DType.SizeOf();
}
