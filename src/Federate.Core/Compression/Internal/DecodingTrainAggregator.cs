using System.Runtime.InteropServices;

namespace Federate.Core.Compression.Internal;

/// <summary>
/// The train aggregator of a round with update compression: a compressed update (its reply carries
/// <see cref="UpdateCompression.CompressedBytesMetric"/>) is decoded against the global model before the wrapped
/// aggregator folds it, chunk by chunk when streamed (an <see cref="UpdateDecoder"/> between the grid and the wrapped
/// fold) or whole; uncompressed updates (Flower clients) pass through. Counts the bytes of the accepted updates and
/// adds them to the round's train metrics.
/// </summary>
internal sealed class DecodingTrainAggregator : DelegatingTrainAggregator
{
    private readonly UpdateCodec _codec;
    private readonly Tensor[] _tensors;
    private readonly string[] _names;
    private readonly long _denseBytes;
    private readonly long _compressedBytes;
    private long _sent;
    private long _dense;

    public DecodingTrainAggregator(ITrainAggregator inner, ArrayRecord global, UpdateCodec codec)
        : base(inner)
    {
        _codec = codec;
        _tensors = [.. global.Select(kv => kv.Value)];
        _names = [.. global.Names];
        _denseBytes = global.ByteLength;
        _compressedBytes = _tensors.Sum(t => UpdateCompression.WireLayout(codec, t) is var (dtype, shape) ? Tensor.ElementCount(shape) * dtype.SizeOf() : 0);
    }

    public override string? Add(Message reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var metrics = reply.Content?.Metrics.GetValueOrDefault(RecordNames.Metrics);
        if (reply.Error is not null || metrics is null || !metrics.ContainsKey(UpdateCompression.CompressedBytesMetric))
        {
            var plain = Inner.Add(reply);
            if (plain is null)
            {
                Counted(_denseBytes);
            }

            return plain;
        }

        var content = reply.Content!;
        if (!content.Arrays.TryGetValue(RecordNames.Model, out var arrays))
        {
            return "the compressed update has no 'model' array record";
        }

        if (Decode(arrays, out var decoded) is { } problem)
        {
            return $"the {_codec.Name} update does not decode: {problem}";
        }

        var plainContent = UpdateCompression.Replace(content, decoded!, Strip(metrics));
        var result = Inner.Add(new Message(reply.Metadata, plainContent));
        if (result is null)
        {
            Counted(_compressedBytes);
        }

        return result;
    }

    public override IUpdateFold BeginUpdate(long nodeId, MetricRecord metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (Inner is not IStreamingTrainAggregator { CanStream: true } streaming)
        {
            throw new NotSupportedException($"{nameof(DecodingTrainAggregator)} wraps an aggregator that cannot stream ({Inner.GetType().Name}); check CanStream first.");
        }

        return metrics.ContainsKey(UpdateCompression.CompressedBytesMetric)
            ? new DecodingFold(this, streaming.BeginUpdate(nodeId, Strip(metrics)))
            : new CountingFold(this, streaming.BeginUpdate(nodeId, metrics));
    }

    public override AggregateResult Complete()
    {
        var result = Inner.Complete();
        var metrics = new MetricRecord(result.Metrics)
        {
            [UpdateCompression.UpdateBytesMetric] = _sent,
            [UpdateCompression.RatioMetric] = _dense > 0 ? (double)_sent / _dense : 1.0,
        };
        return result with { Metrics = metrics };
    }

    private void Counted(long sent)
    {
        _sent += sent;
        _dense += _denseBytes;
    }

    private static MetricRecord Strip(MetricRecord metrics) =>
        new(metrics.Where(kv => kv.Key != UpdateCompression.CompressedBytesMetric));

    /// <summary>Decodes a whole compressed update into float parameters (layout checked first).</summary>
    private string? Decode(ArrayRecord arrays, out ArrayRecord? decoded)
    {
        decoded = null;
        if (arrays.Count != _tensors.Length)
        {
            return $"expected {_tensors.Length} tensors, got {arrays.Count}";
        }

        var output = new ArrayRecord();
        var decoder = new UpdateDecoder(_codec, _tensors, _names);
        var writer = new TensorWriter();
        int i = 0;
        foreach (var (name, tensor) in arrays)
        {
            var global = _tensors[i];
            var (dtype, shape) = UpdateCompression.WireLayout(_codec, global);
            if (name != _names[i])
            {
                return $"tensor {i} should be '{_names[i]}', got '{name}'";
            }

            if (tensor.DType != dtype || !tensor.Shape.SequenceEqual(shape))
            {
                return $"tensor '{name}' should travel as {dtype}[{string.Join(",", shape)}], got {tensor}";
            }

            var target = Tensor.Zeros(global.DType, [.. global.Shape]);
            writer.Target = target;
            if (decoder.Decode(i, 0, tensor.AsBytes(), writer, unfold: false) is { } problem)
            {
                return problem;
            }

            output.Add(name, target);
            i++;
        }

        decoded = output;
        return null;
    }

    /// <summary>Writes decoded runs into a tensor.</summary>
    private sealed class TensorWriter : IUpdateFold
    {
        public Tensor? Target { get; set; }

        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) =>
            bytes.CopyTo(Target!.AsBytes()[(int)(elementOffset * Target.DType.SizeOf())..]);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => throw new NotSupportedException();

        public void Commit()
        {
        }
    }

    /// <summary>Folds an uncompressed streamed update and counts its bytes at commit.</summary>
    private sealed class CountingFold(DecodingTrainAggregator owner, IUpdateFold inner) : IUpdateFold
    {
        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => inner.FoldChunk(tensorIndex, elementOffset, bytes);

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes) => inner.UnfoldChunk(tensorIndex, elementOffset, bytes);

        public void Commit()
        {
            inner.Commit();
            owner.Counted(owner._denseBytes);
        }
    }

    /// <summary>
    /// Decodes a streamed compressed update block by block into the wrapped fold; an undo decodes the same bytes
    /// again (a decoder of its own) and takes the same parameters back out.
    /// </summary>
    private sealed class DecodingFold(DecodingTrainAggregator owner, IUpdateFold inner) : IUpdateFold
    {
        private readonly UpdateDecoder _fold = new(owner._codec, owner._tensors, owner._names);
        private readonly UpdateDecoder _unfold = new(owner._codec, owner._tensors, owner._names);

        public void FoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes)
        {
            if (_fold.Decode(tensorIndex, _fold.WireByteOffset(tensorIndex, elementOffset), bytes, inner, unfold: false) is { } problem)
            {
                throw new InvalidDataException($"the {owner._codec.Name} update does not decode: {problem}");
            }
        }

        public void UnfoldChunk(int tensorIndex, long elementOffset, ReadOnlySpan<byte> bytes)
        {
            if (_unfold.Decode(tensorIndex, _unfold.WireByteOffset(tensorIndex, elementOffset), bytes, inner, unfold: true) is { } problem)
            {
                throw new InvalidDataException($"the {owner._codec.Name} update does not decode: {problem}");
            }
        }

        public void Commit()
        {
            inner.Commit();
            owner.Counted(owner._compressedBytes);
        }
    }
}
