namespace Federate.Core.SecureAggregation;

/// <summary>
/// The names secure aggregation puts on the wire: the stages (also the phase of their failures in the history) and
/// the records of its messages. Every secure-aggregation instruction is a <see cref="MessageType.Custom"/> message
/// whose <see cref="Record"/> config names the <see cref="Stage"/>.
/// </summary>
public static class SecAggNames
{
    /// <summary>The config, array and metric record of secure aggregation in a message.</summary>
    public const string Record = "secagg";

    /// <summary>The config key naming the stage.</summary>
    public const string Stage = "stage";

    /// <summary>Stage 1: the server sends the settings and each client's neighbours; clients answer with two public keys.</summary>
    public const string Setup = "secagg_setup";

    /// <summary>Stage 2: clients get their neighbours' public keys and answer with encrypted shares of their secrets.</summary>
    public const string ShareKeys = "secagg_share_keys";

    /// <summary>Stage 3: clients get the model and the shares addressed to them, train, and answer with a masked update.</summary>
    public const string CollectMasked = "secagg_collect_masked_vectors";

    /// <summary>Stage 4: clients get the lists of surviving and dropped neighbours and answer with the matching shares.</summary>
    public const string Unmask = "secagg_unmask";

    /// <summary>Config key: the public key that encrypts shares (64 bytes, X ‖ Y of P-256).</summary>
    public const string CipherKey = "pk_cipher";

    /// <summary>Config key: the public key that agrees pairwise masks (64 bytes, X ‖ Y of P-256).</summary>
    public const string MaskKey = "pk_mask";

    /// <summary>Array key: node ids (neighbours, share senders, survivors, dropped).</summary>
    public const string Nodes = "nodes";

    /// <summary>Array key: node ids of the neighbours that dropped (unmask stage).</summary>
    public const string Dropped = "dropped";

    /// <summary>Config key: encrypted shares, one after the other in the order of <see cref="Nodes"/>.</summary>
    public const string Shares = "shares";

    /// <summary>Config key: SHA-256 of the self-mask seed, checked when the server rebuilds it.</summary>
    public const string SeedCommitment = "seed_commitment";

    /// <summary>
    /// Setup config key (central DP): every client clips its update to this L2 norm and weighs it 1 instead of by its
    /// example count; the server adds the noise to the unmasked sum.
    /// </summary>
    public const string ClipNorm = "clip_norm";

    /// <summary>Config key: the client's certificate (DER) with its keys; in share keys, the neighbours' certificates, each prefixed by its length (4 bytes, little-endian).</summary>
    public const string Certificate = "certificate";

    /// <summary>Config key: the signature over the keys (<see cref="ISecAggSigner"/>); in share keys, the neighbours' signatures, length-prefixed.</summary>
    public const string Signature = "signature";

    /// <summary>Array key: the masked update (uint32, the weighted update then the weight, modulo the modulus).</summary>
    public const string Masked = "masked";
}
