using System.Globalization;

namespace Federate.Core.SecureAggregation;

/// <summary>
/// The settings of secure aggregation (SecAgg+, Bell et al., CCS 2020, on Bonawitz et al., CCS 2017), named like
/// Flower's <c>SecAggPlusWorkflow</c>. Every client quantizes its weighted update into integers modulo
/// <see cref="ModulusRange"/>, masks it with pairwise masks (agreed with its neighbours on a random k-regular graph)
/// and a self mask, and Shamir-shares its mask secrets with its neighbours, so the server learns only the sum of the
/// surviving clients' updates, even when up to <c>neighbours − threshold</c> of a client's neighbours drop out.
/// </summary>
public sealed class SecAggPlusSettings
{
    /// <summary>
    /// Neighbours each client shares its secrets with (the degree of the communication graph, made even). Null (the
    /// default) picks a logarithmic degree, 2·⌈log2 n⌉ for n sampled clients; at least n − 1 gives the complete graph
    /// (SecAgg of Bonawitz et al.).
    /// </summary>
    public int? NumShares { get; set; }

    /// <summary>
    /// Shares needed to rebuild a client's secret. Null (the default) takes a strict majority of the neighbours
    /// (⌊k/2⌋ + 1), so that a server cannot obtain both secrets of one client from honest neighbours.
    /// </summary>
    public int? ReconstructionThreshold { get; set; }

    /// <summary>Weighted update values are clipped to [−c, c] before quantization. Default 8.0 (Flower's).</summary>
    public double ClippingRange { get; set; } = 8.0;

    /// <summary>Quantization levels of [−c, c]. Default 2^22 (Flower's).</summary>
    public long QuantizationRange { get; set; } = 1L << 22;

    /// <summary>The modulus of the masked integers, a power of two up to 2^32. Default 2^32 (Flower's).</summary>
    public long ModulusRange { get; set; } = 1L << 32;

    /// <summary>
    /// The example count at which a client's weight is 1: each client scales its update by min(n / max_weight, 1)
    /// before clipping, and masks that weight too, so the server gets the example-weighted mean. Default 1000
    /// (Flower's); raise it above the largest client's example count for exact FedAvg weights.
    /// </summary>
    public double MaxWeight { get; set; } = 1000;

    /// <summary>The deadline of each secure-aggregation stage; null uses the run's round timeout.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The degree of the communication graph for <paramref name="clients"/> sampled clients.</summary>
    public int Degree(int clients)
    {
        if (clients <= 1)
        {
            return 0;
        }

        int k = NumShares ?? (2 * (int)Math.Ceiling(Math.Log2(clients)));
        k += k % 2;
        return Math.Min(k, clients - 1);
    }

    /// <summary>The reconstruction threshold for <paramref name="clients"/> sampled clients.</summary>
    public int Threshold(int clients)
    {
        int k = Degree(clients);
        return Math.Min(ReconstructionThreshold ?? ((k / 2) + 1), Math.Max(k, 1));
    }

    /// <summary>Checks the settings; returns a one-line problem naming the setting, or null.</summary>
    public string? Validate()
    {
        if (NumShares is { } k && k < 2)
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_shares' must be at least 2, got {k}");
        }

        if (ReconstructionThreshold is { } t && t < 2)
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_threshold' must be at least 2 (one share reveals nothing, so one is no protection), got {t}");
        }

        if (ReconstructionThreshold is { } t2 && NumShares is { } k2 && t2 > k2 + (k2 % 2))
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_threshold' ({t2}) cannot exceed 'secagg_shares' ({k2})");
        }

        if (!(ClippingRange >= 1) || !double.IsFinite(ClippingRange))
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_clip' must be a finite number of at least 1 (the masked weight lies in [0, 1]), got {ClippingRange}");
        }

        if (ModulusRange < 4 || ModulusRange > (1L << 32) || (ModulusRange & (ModulusRange - 1)) != 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_modulus' must be a power of two from 4 to 2^32 (4294967296), got {ModulusRange}");
        }

        if (QuantizationRange < 2 || QuantizationRange >= ModulusRange)
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_quantization' must be from 2 to below 'secagg_modulus' ({ModulusRange}), got {QuantizationRange}");
        }

        if (!(MaxWeight > 0) || !double.IsFinite(MaxWeight))
        {
            return string.Create(CultureInfo.InvariantCulture, $"'secagg_max_weight' must be a positive number, got {MaxWeight}");
        }

        if (Timeout is { } timeout && timeout <= TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            return "'secagg_timeout' must be positive";
        }

        return null;
    }

    /// <summary>
    /// Checks that the sum of <paramref name="clients"/> quantized values cannot wrap around the modulus; returns a
    /// one-line problem or null.
    /// </summary>
    public string? ValidateClients(int clients)
    {
        if ((double)clients * (QuantizationRange - 1) >= ModulusRange)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{clients} clients' quantized values could wrap around 'secagg_modulus' {ModulusRange}: lower 'secagg_quantization' below {ModulusRange / Math.Max(clients, 1) + 1} or sample fewer clients");
        }

        return null;
    }

    /// <summary>The settings as history.json's config entries.</summary>
    public void AddTo(IDictionary<string, object?> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config["secagg"] = true;
        config["secagg_shares"] = NumShares;
        config["secagg_threshold"] = ReconstructionThreshold;
        config["secagg_clip"] = ClippingRange;
        config["secagg_quantization"] = QuantizationRange;
        config["secagg_modulus"] = ModulusRange;
        config["secagg_max_weight"] = MaxWeight;
    }
}
