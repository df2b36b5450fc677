using System.Runtime.InteropServices;
using Federate.Core.Aggregation;

namespace Federate.Core.Compression;

/// <summary>
/// Decodes one compressed update as its bytes arrive, tensor after tensor and chunk after chunk in order, whatever
/// the chunk boundaries: a block split between two chunks waits in a buffer of one block. Each decoded block is
/// turned back into parameters (the global model's values plus the decoded difference) and checked to be finite.
/// Memory is O(block), never O(update). The server runs one over every incoming compressed update
/// (<see cref="Check"/>) so a hostile update is refused while it arrives; the train aggregator runs another to fold.
/// </summary>
public sealed class UpdateDecoder
{
    private const int BatchBlocks = 64;
    private readonly UpdateCodec _codec;
    private readonly IReadOnlyList<Tensor> _global;
    private readonly IReadOnlyList<string> _names;
    private readonly byte[] _pending;
    private readonly float[] _batch = new float[BatchBlocks * UpdateCodec.BlockSize];
    private int _tensor = -1;
    private long _offset;
    private long _block;
    private int _pendingCount;

    /// <summary>
    /// A decoder of an update to the model <paramref name="global"/> (its tensors in wire order, with their
    /// <paramref name="names"/> for messages) encoded with <paramref name="codec"/>.
    /// </summary>
    public UpdateDecoder(UpdateCodec codec, IReadOnlyList<Tensor> global, IReadOnlyList<string> names)
    {
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _global = global ?? throw new ArgumentNullException(nameof(global));
        _names = names ?? throw new ArgumentNullException(nameof(names));
        if (names.Count != global.Count)
        {
            throw new ArgumentException("one name per global tensor", nameof(names));
        }

        _pending = new byte[codec.EncodedBlockLength(UpdateCodec.BlockSize)];
    }

    /// <summary>
    /// Checks the next <paramref name="data"/> of tensor <paramref name="tensorIndex"/> at byte
    /// <paramref name="byteOffset"/> of its encoded form; null when every complete block in it decodes to finite
    /// parameters, else a one-line problem.
    /// </summary>
    public string? Check(int tensorIndex, long byteOffset, ReadOnlySpan<byte> data) => Decode(tensorIndex, byteOffset, data, null, unfold: false);

    /// <summary>True when the last tensor fed was complete (no partial block waits).</summary>
    public bool AtBlockBoundary => _pendingCount == 0;

    /// <summary>
    /// Decodes the next bytes and hands each run of decoded parameters to <paramref name="target"/> (fold or unfold);
    /// non-float32 tensors pass through unchanged.
    /// </summary>
    internal string? Decode(int tensorIndex, long byteOffset, ReadOnlySpan<byte> data, IUpdateFold? target, bool unfold)
    {
        if ((uint)tensorIndex >= (uint)_global.Count)
        {
            return $"tensor {tensorIndex} does not exist (the model has {_global.Count})";
        }

        if (tensorIndex != _tensor)
        {
            if (_pendingCount != 0)
            {
                return $"tensor '{_names[_tensor]}' ended in the middle of a block";
            }

            (_tensor, _offset, _block) = (tensorIndex, 0, 0);
        }

        if (byteOffset != _offset)
        {
            return $"bytes of tensor '{_names[tensorIndex]}' at offset {byteOffset}, expected {_offset}";
        }

        var global = _global[tensorIndex];
        _offset += data.Length;
        if (!UpdateCodec.Compresses(global.DType))
        {
            Emit(target, unfold, tensorIndex, byteOffset / global.DType.SizeOf(), data);
            return null;
        }

        var values = global.AsSpan<float>();
        long blocks = (global.Length + UpdateCodec.BlockSize - 1) / UpdateCodec.BlockSize;
        int batched = 0;
        long batchStart = _block * UpdateCodec.BlockSize;
        while (!data.IsEmpty)
        {
            if (_block >= blocks)
            {
                return $"tensor '{_names[tensorIndex]}' has more bytes than {_codec.Name} needs for its {global.Length} values";
            }

            int start = (int)(_block * UpdateCodec.BlockSize);
            int count = Math.Min(UpdateCodec.BlockSize, values.Length - start);
            int length = _codec.EncodedBlockLength(count);
            ReadOnlySpan<byte> block;
            if (_pendingCount == 0 && data.Length >= length)
            {
                block = data[..length];
                data = data[length..];
            }
            else
            {
                int take = Math.Min(length - _pendingCount, data.Length);
                data[..take].CopyTo(_pending.AsSpan(_pendingCount));
                _pendingCount += take;
                data = data[take..];
                if (_pendingCount < length)
                {
                    break;
                }

                block = _pending.AsSpan(0, length);
                _pendingCount = 0;
            }

            var decoded = _batch.AsSpan(batched, count);
            if (_codec.DecodeBlock(block, decoded) is { } problem)
            {
                return $"tensor '{_names[tensorIndex]}' block {_block}: {problem}";
            }

            System.Numerics.Tensors.TensorPrimitives.Add(decoded, values.Slice(start, count), decoded);
            if (!AggregationKernels.AllFinite(decoded))
            {
                return $"tensor '{_names[tensorIndex]}' block {_block} decodes to NaN or infinity";
            }

            batched += count;
            _block++;
            if (batched + UpdateCodec.BlockSize > _batch.Length)
            {
                Emit(target, unfold, tensorIndex, batchStart, MemoryMarshal.AsBytes(_batch.AsSpan(0, batched)));
                batchStart += batched;
                batched = 0;
            }
        }

        if (batched > 0)
        {
            Emit(target, unfold, tensorIndex, batchStart, MemoryMarshal.AsBytes(_batch.AsSpan(0, batched)));
        }

        return null;
    }

    /// <summary>The byte offset of a wire element offset: encoded tensors travel as bytes, the others as their elements.</summary>
    internal long WireByteOffset(int tensorIndex, long elementOffset) =>
        (uint)tensorIndex < (uint)_global.Count && !UpdateCodec.Compresses(_global[tensorIndex].DType)
            ? elementOffset * _global[tensorIndex].DType.SizeOf()
            : elementOffset;

    private static void Emit(IUpdateFold? target, bool unfold, int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes)
    {
        if (target is null)
        {
            return;
        }

        if (unfold)
        {
            target.UnfoldChunk(tensorIndex, elementOffset, bytes);
        }
        else
        {
            target.FoldChunk(tensorIndex, elementOffset, bytes);
        }
    }
}
