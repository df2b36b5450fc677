using Federate.Core.Compression.Internal;

namespace Federate.Core.Compression;

/// <summary>
/// Update compression as a setting of the run. The server decides: <see cref="Configure"/> puts the codec in every
/// round's train config under <see cref="ConfigKey"/> (like <c>lr</c>); a client that honours it
/// (<see cref="UpdateCompressor"/>, which every native <c>FleetClient</c> and every simulated client applies) sends the
/// difference to the global model encoded with that codec, keeping what the encoding lost (error feedback) for its next
/// round, and marks its reply with the metric <see cref="CompressedBytesMetric"/>. The server decodes each update
/// within the streaming fold (<see cref="Wrap"/>, <see cref="UpdateDecoder"/>), so aggregation memory stays O(model).
/// Replies without the mark (Flower clients, apps that ignore the setting) are folded as they are: fleets may mix.
/// Each round records <see cref="UpdateBytesMetric"/> and <see cref="RatioMetric"/> in its train metrics.
/// </summary>
public static class UpdateCompression
{
    /// <summary>The train config key (and history.json config key) naming the codec: none, fp16, int8 or topk:F.</summary>
    public const string ConfigKey = "update_compression";

    /// <summary>Reply metric a client sets on a compressed update: the bytes of its encoded tensors.</summary>
    public const string CompressedBytesMetric = "compressed_bytes";

    /// <summary>Round train metric: bytes of the accepted updates' tensors as sent (compressed or not).</summary>
    public const string UpdateBytesMetric = "update_bytes";

    /// <summary>Round train metric: <see cref="UpdateBytesMetric"/> over the bytes the same updates take uncompressed.</summary>
    public const string RatioMetric = "update_compression_ratio";

    /// <summary>Null when <paramref name="spec"/> names a codec (or none), else the one-line problem.</summary>
    public static string? Validate(string? spec)
    {
        try
        {
            _ = UpdateCodec.Parse(spec);
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Null when <paramref name="spec"/> is valid and combines with the run, else the one-line problem: secure
    /// aggregation masks updates in a finite field where per-block scales and sparse indices cannot be summed, so the
    /// two are refused together.
    /// </summary>
    public static string? Check(string? spec, bool secureAggregation)
    {
        if (Validate(spec) is { } problem)
        {
            return problem;
        }

        return secureAggregation && UpdateCodec.Parse(spec) is { } codec
            ? $"'update_compression' {codec.Name} cannot be combined with 'secagg': the masked sum hides the per-block scales and indices the server needs to decode; use one or the other"
            : null;
    }

    /// <summary>Puts the codec of <paramref name="spec"/> in the run's train config (nothing for none).</summary>
    /// <exception cref="ArgumentException">An unknown codec (one-line message).</exception>
    public static void Configure(RunOptions options, string? spec)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (UpdateCodec.Parse(spec) is { } codec)
        {
            options.TrainConfig[ConfigKey] = codec.Name;
        }
    }

    /// <summary>The codec a round config asks for; null when it asks for none.</summary>
    /// <exception cref="ArgumentException">An unknown codec (one-line message).</exception>
    public static UpdateCodec? FromConfig(ConfigRecord config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.TryGetValue(ConfigKey, out var value) ? UpdateCodec.Parse(value.AsString()) : null;
    }

    /// <summary>
    /// The codec of a train reply to <paramref name="instruction"/> with metrics <paramref name="replyMetrics"/>:
    /// null in <paramref name="codec"/> for an uncompressed reply. Returns a one-line problem when the reply says it is
    /// compressed but its instruction asked for no compression.
    /// </summary>
    public static string? ReplyCodec(Message instruction, MetricRecord? replyMetrics, out UpdateCodec? codec)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        codec = null;
        if (replyMetrics is null || !replyMetrics.ContainsKey(CompressedBytesMetric))
        {
            return null;
        }

        var config = instruction.Content?.Configs.GetValueOrDefault(RecordNames.Config);
        try
        {
            codec = config is null ? null : FromConfig(config);
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }

        return codec is null ? $"the update is compressed but the round asked for no '{ConfigKey}'" : null;
    }

    /// <summary>The dtype and shape an update tensor travels with when the global tensor is <paramref name="global"/>.</summary>
    public static (DType DType, long[] Shape) WireLayout(UpdateCodec? codec, Tensor global)
    {
        ArgumentNullException.ThrowIfNull(global);
        return codec is not null && UpdateCodec.Compresses(global.DType)
            ? (DType.UInt8, [codec.EncodedLength(global.Length)])
            : (global.DType, [.. global.Shape]);
    }

    /// <summary>
    /// Wraps a round's train aggregator so that it decodes compressed updates (whole or chunk by chunk) against
    /// <paramref name="global"/> before folding them, and records the bytes of the round's updates; returns
    /// <paramref name="aggregator"/> itself when <paramref name="trainConfig"/> asks for no compression.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown codec in the config (one-line message).</exception>
    public static ITrainAggregator Wrap(ITrainAggregator aggregator, ArrayRecord global, ConfigRecord trainConfig)
    {
        ArgumentNullException.ThrowIfNull(aggregator);
        ArgumentNullException.ThrowIfNull(global);
        return FromConfig(trainConfig) is { } codec ? new DecodingTrainAggregator(aggregator, global, codec) : aggregator;
    }

    /// <summary>A copy of a reply's content with another model and other metrics (the other records shared).</summary>
    internal static RecordDict Replace(RecordDict content, ArrayRecord model, MetricRecord metrics)
    {
        var copy = content.Copy();
        copy.Metrics[RecordNames.Metrics] = metrics;
        copy.Arrays[RecordNames.Model] = model;
        return copy;
    }
}
