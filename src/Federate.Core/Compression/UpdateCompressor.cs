using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Federate.Core.Compression;

/// <summary>
/// The client side of update compression: a mod (<see cref="Mod"/>) that, when a train instruction's config asks for
/// a codec (<see cref="UpdateCompression.ConfigKey"/>), replaces the reply's model by the encoded difference to the
/// global model it received. Error feedback: per tensor, what the encoding lost is kept (the residual) and added to
/// the next round's difference before encoding, so nothing is lost for good, only delayed. Encoding is deterministic
/// (no random rounding), so a client compresses the same way in simulation and deployment. Keep one instance per
/// client for the life of the client (the residuals live in it); a train instruction without the setting leaves
/// the reply and the residuals untouched.
/// </summary>
public sealed class UpdateCompressor
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, float[]> _residuals = new(StringComparer.Ordinal);

    /// <summary>The mod to put first in a client app's mods (it compresses what the other mods made of the update).</summary>
    public ClientMod Mod => HandleAsync;

    /// <summary>Wraps <paramref name="app"/> with a new compressor's mod.</summary>
    public static IClientApp Wrap(IClientApp app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return new ModularClientApp(app.HandleAsync, new UpdateCompressor().Mod);
    }

    /// <summary>A copy of the residual kept for tensor <paramref name="name"/>, or null when none is kept yet.</summary>
    public float[]? Residual(string name)
    {
        lock (_lock)
        {
            return _residuals.TryGetValue(name, out var r) ? (float[])r.Clone() : null;
        }
    }

    /// <summary>Copies of every residual, by tensor name (for <see cref="CompressionResiduals"/>).</summary>
    internal Dictionary<string, float[]> Residuals()
    {
        lock (_lock)
        {
            return _residuals.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Clone(), StringComparer.Ordinal);
        }
    }

    /// <summary>Sets the residual of one tensor (resume).</summary>
    internal void Restore(string name, float[] residual)
    {
        lock (_lock)
        {
            _residuals[name] = residual;
        }
    }

    /// <summary>
    /// Compresses the train <paramref name="reply"/> to <paramref name="instruction"/> with <paramref name="codec"/>:
    /// each float32 tensor becomes the encoding of (local − global + residual), and the residual becomes what that
    /// encoding lost. Other tensors travel unchanged. The reply's metrics get <see cref="UpdateCompression.CompressedBytesMetric"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The update holds NaN or infinity (one-line message).</exception>
    public Message Compress(UpdateCodec codec, Message instruction, Message reply)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Error is not null || reply.Content is not { } content || !content.Arrays.TryGetValue(RecordNames.Model, out var local)
            || instruction.Content?.Arrays.GetValueOrDefault(RecordNames.Model) is not { } global)
        {
            return reply;
        }

        var encoded = new ArrayRecord();
        var residuals = new Dictionary<string, float[]>(StringComparer.Ordinal);
        long bytes = 0;
        foreach (var (name, tensor) in local)
        {
            if (!UpdateCodec.Compresses(tensor.DType) || !global.TryGetValue(name, out var g) || !g.HasSameLayout(tensor))
            {
                encoded.Add(name, tensor);
                bytes += tensor.ByteLength;
                continue;
            }

            var values = tensor.AsSpan<float>();
            if (!Aggregation.AggregationKernels.AllFinite(values))
            {
                throw new InvalidOperationException($"the update's tensor '{name}' holds NaN or infinity; lower 'lr' or check the data");
            }

            // corrected = (local - global) + residual; send code(corrected); residual = corrected - decode(code).
            var corrected = new float[values.Length];
            TensorPrimitives.Subtract(values, g.AsSpan<float>(), corrected);
            lock (_lock)
            {
                if (_residuals.TryGetValue(name, out var residual) && residual.Length == corrected.Length)
                {
                    TensorPrimitives.Add(corrected, residual, corrected);
                }
            }

            var code = new byte[codec.EncodedLength(corrected.Length)];
            codec.Encode(corrected, code);
            var decoded = new float[corrected.Length];
            if (codec.Decode(code, decoded) is { } problem)
            {
                throw new InvalidOperationException($"the update's tensor '{name}' could not be encoded with {codec.Name} ({problem})");
            }

            TensorPrimitives.Subtract(corrected, decoded, corrected);
            residuals[name] = corrected;
            encoded.Add(name, Tensor.FromArray(code, code.LongLength));
            bytes += code.LongLength;
        }

        lock (_lock)
        {
            foreach (var (name, residual) in residuals)
            {
                _residuals[name] = residual;
            }
        }

        var metrics = new MetricRecord(content.Metrics.GetValueOrDefault(RecordNames.Metrics) ?? new MetricRecord())
        {
            [UpdateCompression.CompressedBytesMetric] = bytes,
        };
        var compressed = UpdateCompression.Replace(content, encoded, metrics);
        return new Message(reply.Metadata, compressed);
    }

    private async ValueTask<Message> HandleAsync(Message message, ClientAppHandler next, CancellationToken cancellationToken)
    {
        var reply = await next(message, cancellationToken).ConfigureAwait(false);
        if (message.Metadata.MessageType != MessageType.Train || message.Content?.Configs.GetValueOrDefault(RecordNames.Config) is not { } config
            || UpdateCompression.FromConfig(config) is not { } codec)
        {
            return reply;
        }

        return Compress(codec, message, reply);
    }
}
