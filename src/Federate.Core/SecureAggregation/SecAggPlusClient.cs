using System.Globalization;
using System.Security.Cryptography;
using Federate.Core.SecureAggregation.Internal;

namespace Federate.Core.SecureAggregation;

/// <summary>
/// The client side of secure aggregation (SecAgg+) for one node, used as a mod (<see cref="Mod"/>): it answers the
/// four secure-aggregation stages and passes every other message on unchanged, so a client follows whatever the
/// server asks for. Keys, seeds and shares come from the platform's CSPRNG and live only for one round. It refuses
/// (an error reply, code <c>secagg_refused</c>) stages out of order, malformed or forged keys and shares, and a request
/// for both secrets of one neighbour. In collect it hands the train instruction to the rest of the client app and
/// answers with the update masked; the example count is masked with it, only train metrics travel in the clear.
/// </summary>
public sealed class SecAggPlusClient
{
    private readonly Lock _lock = new();
    private readonly ISecAggSigner? _signer;
    private RoundKeys? _round;

    /// <summary>
    /// Creates the client side for one node. With <paramref name="signer"/> (startup kits) it signs the keys it announces
    /// and refuses neighbours' keys that are not signed by distinct enrolled clients.
    /// </summary>
    public SecAggPlusClient(ISecAggSigner? signer = null)
    {
        _signer = signer;
    }

    /// <summary>The client as a mod: put it first so it wraps training (and any mod that changes the update).</summary>
    public ClientMod Mod => HandleAsync;

    /// <summary>Handles a secure-aggregation stage, or passes any other message to <paramref name="next"/>.</summary>
    public async ValueTask<Message> HandleAsync(Message message, ClientAppHandler next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(next);
        ConfigRecord? config = null;
        if (message.Metadata.MessageType != MessageType.Custom || message.Content?.Configs.TryGetValue(SecAggNames.Record, out config) != true || config is null
            || !config.TryGetValue(SecAggNames.Stage, out var stageValue) || stageValue.Kind != ConfigValueKind.String)
        {
            return await next(message, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return stageValue.AsString() switch
            {
                SecAggNames.Setup => Setup(message, config),
                SecAggNames.ShareKeys => ShareKeys(message, config),
                SecAggNames.CollectMasked => await CollectAsync(message, config, next, cancellationToken).ConfigureAwait(false),
                SecAggNames.Unmask => Unmask(message),
                var other => Refuse(message, $"unknown secure-aggregation stage '{other}'"),
            };
        }
        catch (SecAggRefusal refusal)
        {
            Replace(null);
            return Refuse(message, refusal.Message);
        }
    }

    private static Message Refuse(Message message, string reason) => message.CreateErrorReply(new MessageError("secagg_refused", reason));

    private Message Setup(Message message, ConfigRecord config)
    {
        var meta = message.Metadata;
        var neighbours = Nodes(message, SecAggNames.Nodes);
        var keys = new RoundKeys
        {
            RunId = meta.RunId,
            Round = meta.Round,
            Node = meta.DestinationNodeId,
            Neighbours = neighbours,
            Threshold = checked((int)config.GetLong("threshold", 0)),
            Clip = config.GetDouble("clipping_range", 0),
            Levels = config.GetLong("quantization_range", 0),
            Modulus = config.GetLong("modulus_range", 0),
            MaxWeight = config.GetDouble("max_weight", 0),
            ClipNorm = config.TryGetValue(SecAggNames.ClipNorm, out var clip) ? clip.AsDouble() : null,
        };
        var settings = new SecAggPlusSettings { ClippingRange = keys.Clip, QuantizationRange = keys.Levels, ModulusRange = keys.Modulus, MaxWeight = keys.MaxWeight, ReconstructionThreshold = keys.Threshold };
        if (settings.Validate() is { } problem)
        {
            throw new SecAggRefusal($"the server's settings are invalid: {problem}");
        }

        if (keys.ClipNorm is { } norm && !(norm > 0 && double.IsFinite(norm)))
        {
            throw new SecAggRefusal($"the server's clip norm must be a positive number, got {norm}");
        }

        if (keys.Threshold > neighbours.Length || neighbours.Contains(keys.Node) || neighbours.Distinct().Count() != neighbours.Length)
        {
            throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"the server's neighbour list ({neighbours.Length} nodes, threshold {keys.Threshold}) cannot protect this client"));
        }

        Replace(keys);

        var reply = new RecordDict();
        var cipher = KeyAgreement.ExportPublic(keys.CipherKey);
        var mask = KeyAgreement.ExportPublic(keys.MaskKey);
        var announced = reply.Configs[SecAggNames.Record] = new ConfigRecord
        {
            [SecAggNames.CipherKey] = cipher,
            [SecAggNames.MaskKey] = mask,
        };
        if (_signer is not null)
        {
            announced[SecAggNames.Certificate] = _signer.Certificate;
            announced[SecAggNames.Signature] = _signer.Sign(SignedKeys.Transcript(keys.RunId, keys.Round, keys.Node, cipher, mask));
        }

        return message.CreateReply(reply);
    }

    private Message ShareKeys(Message message, ConfigRecord config)
    {
        var keys = Expect(message, RoundStage.Setup);
        var live = Nodes(message, SecAggNames.Nodes);
        var cipher = Bytes(config, SecAggNames.CipherKey);
        var mask = Bytes(config, SecAggNames.MaskKey);
        if (live.Any(v => !keys.Neighbours.Contains(v)) || live.Distinct().Count() != live.Length)
        {
            throw new SecAggRefusal("the server named nodes that are not this client's neighbours");
        }

        if (live.Length < keys.Threshold)
        {
            throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"only {live.Length} neighbours are left, fewer than the threshold {keys.Threshold}"));
        }

        if (cipher.Length != live.Length * KeyAgreement.PublicKeySize || mask.Length != cipher.Length)
        {
            throw new SecAggRefusal("the neighbours' public keys have the wrong length");
        }

        VerifySignatures(keys, config, live, cipher, mask);
        var own = new HashSet<string>([Convert.ToHexString(KeyAgreement.ExportPublic(keys.CipherKey)), Convert.ToHexString(KeyAgreement.ExportPublic(keys.MaskKey))], StringComparer.Ordinal);
        var shareSeeds = ShamirSharing.Split(keys.Seed, keys.Neighbours.Length, keys.Threshold);
        var shareKeys = ShamirSharing.Split(KeyAgreement.ExportPrivate(keys.MaskKey), keys.Neighbours.Length, keys.Threshold);
        var shares = new byte[live.Length * ShareCipher.Size];
        for (int i = 0; i < live.Length; i++)
        {
            var c = cipher.AsSpan(i * KeyAgreement.PublicKeySize, KeyAgreement.PublicKeySize);
            var m = mask.AsSpan(i * KeyAgreement.PublicKeySize, KeyAgreement.PublicKeySize);
            var peerCipher = KeyAgreement.TryImportPublic(c);
            var peerMask = KeyAgreement.TryImportPublic(m);
            if (peerCipher is null || peerMask is null || !own.Add(Convert.ToHexString(c)) || !own.Add(Convert.ToHexString(m)))
            {
                peerCipher?.Dispose();
                peerMask?.Dispose();
                throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"the public keys of node {live[i]} are malformed, forged or repeated"));
            }

            keys.Peers[live[i]] = (peerCipher, peerMask);
            var key = KeyAgreement.Derive(keys.CipherKey, peerCipher, keys.RunId, keys.Round, keys.Node, live[i], KeyAgreement.SharePurpose);
            int x = Array.IndexOf(keys.Neighbours, live[i]);
            ShareCipher.Encrypt(key, keys.Node, live[i], keys.Round, shareSeeds[x], shareKeys[x]).CopyTo(shares, i * ShareCipher.Size);
            CryptographicOperations.ZeroMemory(key);
        }

        foreach (var s in shareKeys)
        {
            CryptographicOperations.ZeroMemory(s);
        }

        keys.Stage = RoundStage.SharedKeys;
        var reply = new RecordDict();
        reply.Configs[SecAggNames.Record] = new ConfigRecord
        {
            [SecAggNames.Shares] = shares,
            [SecAggNames.SeedCommitment] = SHA256.HashData(keys.Seed),
        };
        return message.CreateReply(reply);
    }

    // With a signer, every neighbour's keys must be signed by a distinct enrolled client other than this one.
    private void VerifySignatures(RoundKeys keys, ConfigRecord config, long[] live, byte[] cipher, byte[] mask)
    {
        if (_signer is null)
        {
            return;
        }

        var certificates = config.TryGetValue(SecAggNames.Certificate, out var c) && c.Kind == ConfigValueKind.Bytes ? SignedKeys.Unpack(c.AsBytes(), live.Length) : null;
        var signatures = config.TryGetValue(SecAggNames.Signature, out var s) && s.Kind == ConfigValueKind.Bytes ? SignedKeys.Unpack(s.AsBytes(), live.Length) : null;
        if (certificates is null || signatures is null)
        {
            throw new SecAggRefusal("the neighbours' public keys come without their certificates and signatures");
        }

        var seen = new HashSet<string>([Convert.ToHexString(_signer.Certificate)], StringComparer.Ordinal);
        for (int i = 0; i < live.Length; i++)
        {
            var transcript = SignedKeys.Transcript(keys.RunId, keys.Round, live[i], cipher.AsSpan(i * KeyAgreement.PublicKeySize, KeyAgreement.PublicKeySize).ToArray(), mask.AsSpan(i * KeyAgreement.PublicKeySize, KeyAgreement.PublicKeySize).ToArray());
            if (_signer.Verify(certificates[i], transcript, signatures[i]) is { } problem)
            {
                throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"the public keys of node {live[i]} are not signed by an enrolled client: {problem}"));
            }

            if (!seen.Add(Convert.ToHexString(certificates[i])))
            {
                throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"the public keys of node {live[i]} are signed by a client that signs another node's keys too"));
            }
        }
    }

    private async ValueTask<Message> CollectAsync(Message message, ConfigRecord config, ClientAppHandler next, CancellationToken cancellationToken)
    {
        var keys = Expect(message, RoundStage.SharedKeys);
        var senders = Nodes(message, SecAggNames.Nodes);
        var shares = Bytes(config, SecAggNames.Shares);
        if (senders.Any(v => !keys.Peers.ContainsKey(v)) || senders.Distinct().Count() != senders.Length || shares.Length != senders.Length * ShareCipher.Size)
        {
            throw new SecAggRefusal("the shares are not from this client's neighbours or have the wrong length");
        }

        for (int i = 0; i < senders.Length; i++)
        {
            var key = KeyAgreement.Derive(keys.CipherKey, keys.Peers[senders[i]].Cipher, keys.RunId, keys.Round, keys.Node, senders[i], KeyAgreement.SharePurpose);
            var share = ShareCipher.TryDecrypt(key, shares.AsSpan(i * ShareCipher.Size, ShareCipher.Size), senders[i], keys.Node, keys.Round)
                ?? throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"the share from node {senders[i]} does not decrypt (forged, altered or replayed)"));
            CryptographicOperations.ZeroMemory(key);
            keys.Received[senders[i]] = share;
        }

        // Train: the same instruction without the secure-aggregation records, as a train message.
        var content = message.Content!;
        var train = new RecordDict();
        foreach (var (k, v) in content.Arrays.Where(kv => kv.Key != SecAggNames.Record))
        {
            train.Arrays[k] = v;
        }

        foreach (var (k, v) in content.Configs.Where(kv => kv.Key != SecAggNames.Record))
        {
            train.Configs[k] = v;
        }

        var global = train.Arrays.TryGetValue(RecordNames.Model, out var g) ? g : throw new SecAggRefusal("the collect instruction carries no model");
        var fit = await next(new Message(message.Metadata with { MessageType = MessageType.Train }, train), cancellationToken).ConfigureAwait(false);
        if (fit.Error is not null)
        {
            return fit;
        }

        var masked = Mask(keys, global, fit, senders);
        keys.Senders = senders;
        keys.Stage = RoundStage.Collected;
        var reply = new RecordDict();
        reply.Arrays[SecAggNames.Record] = new ArrayRecord { { SecAggNames.Masked, masked } };
        if (fit.Content!.Metrics.TryGetValue(RecordNames.Metrics, out var metrics))
        {
            reply.Metrics[RecordNames.Metrics] = new MetricRecord(metrics.Where(kv => kv.Key != RecordNames.NumExamples));
        }

        return message.CreateReply(reply);
    }

    private static Tensor Mask(RoundKeys keys, ArrayRecord global, Message fit, long[] senders)
    {
        var content = fit.Content!;
        if (!content.Arrays.TryGetValue(RecordNames.Model, out var model) || global.DescribeLayoutMismatch(model) is not null)
        {
            throw new InvalidOperationException("the trained model does not match the global model's layout");
        }

        if (UpdateVector.Check(global) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        double examples = content.Metrics.TryGetValue(RecordNames.Metrics, out var m) && m.TryGetValue(RecordNames.NumExamples, out var n) ? n : 0;
        if (!(examples >= 0) || !double.IsFinite(examples))
        {
            throw new InvalidOperationException("the trained model has no valid 'num_examples' metric");
        }

        // Central DP: the update is clipped to the norm and weighs 1; otherwise it weighs min(n / max_weight, 1).
        double weight = keys.ClipNorm is { } clip ? Math.Min(1, clip / UpdateNorm(global, model)) : Math.Min(examples / keys.MaxWeight, 1.0);
        var quantizer = new Quantizer(keys.Clip, keys.Levels);
        int length = checked((int)global.ElementCount);
        var tensor = Tensor.Zeros(DType.UInt32, length + 1);
        var vector = tensor.AsSpan<uint>();
        var block = new double[Math.Min(1 << 16, Math.Max(1, length))];
        int offset = 0;
        foreach (var (name, g) in global)
        {
            var x = model[name];
            for (long start = 0; start < g.Length; start += block.Length)
            {
                int count = (int)Math.Min(block.Length, g.Length - start);
                var d = block.AsSpan(0, count);
                UpdateVector.Delta(x, g, start, d);
                System.Numerics.Tensors.TensorPrimitives.Multiply(d, weight, d);
                if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<double>(d))
                {
                    throw new InvalidOperationException($"the trained tensor '{name}' has values that are not finite");
                }

                quantizer.Quantize(d, vector.Slice(offset + (int)start, count));
            }

            offset += checked((int)g.Length);
        }

        vector[length] = quantizer.Quantize(keys.ClipNorm is null ? weight : 1);
        MaskStream.Apply(KeyAgreement.SelfMaskKey(keys.Seed, keys.RunId, keys.Round), vector, 1);
        foreach (var peer in senders)
        {
            var seed = KeyAgreement.Derive(keys.MaskKey, keys.Peers[peer].Mask, keys.RunId, keys.Round, keys.Node, peer, KeyAgreement.MaskPurpose);
            MaskStream.Apply(seed, vector, keys.Node < peer ? 1 : -1);
            CryptographicOperations.ZeroMemory(seed);
        }

        MaskStream.Reduce(vector, keys.Modulus);
        return tensor;
    }

    private static double UpdateNorm(ArrayRecord global, ArrayRecord model)
    {
        var block = new double[1 << 12];
        double squared = 0;
        foreach (var (name, g) in global)
        {
            for (long start = 0; start < g.Length; start += block.Length)
            {
                var d = block.AsSpan(0, (int)Math.Min(block.Length, g.Length - start));
                UpdateVector.Delta(model[name], g, start, d);
                squared += System.Numerics.Tensors.TensorPrimitives.Dot<double>(d, d);
            }
        }

        return Math.Sqrt(squared);
    }

    private Message Unmask(Message message)
    {
        var keys = Expect(message, RoundStage.Collected);
        var survivors = Nodes(message, SecAggNames.Nodes);
        var dropped = Nodes(message, SecAggNames.Dropped);
        var all = survivors.Concat(dropped).ToArray();
        if (all.Distinct().Count() != all.Length || all.Any(v => !keys.Senders.Contains(v)))
        {
            throw new SecAggRefusal("the server asked for both secrets of a neighbour, or for nodes that sent no shares to this client");
        }

        if (survivors.Length + 1 < keys.Threshold)
        {
            throw new SecAggRefusal(string.Create(CultureInfo.InvariantCulture, $"only {survivors.Length + 1} clients of this neighbourhood survived, fewer than the threshold {keys.Threshold}"));
        }

        var shares = new byte[all.Length * ShamirSharing.Size];
        for (int i = 0; i < all.Length; i++)
        {
            var (seed, key) = keys.Received[all[i]];
            (i < survivors.Length ? seed : key).CopyTo(shares, i * ShamirSharing.Size);
        }

        Replace(null);
        var reply = new RecordDict();
        reply.Configs[SecAggNames.Record] = new ConfigRecord { [SecAggNames.Shares] = shares };
        return message.CreateReply(reply);
    }

    // Ends the current round's keys (disposed: they are never used again) and starts the given one.
    private void Replace(RoundKeys? next)
    {
        RoundKeys? previous;
        lock (_lock)
        {
            previous = _round;
            _round = next;
        }

        previous?.Dispose();
    }

    private RoundKeys Expect(Message message, RoundStage stage)
    {
        RoundKeys? keys;
        lock (_lock)
        {
            keys = _round;
        }

        if (keys is null || keys.Round != message.Metadata.Round || keys.RunId != message.Metadata.RunId || keys.Stage != stage || keys.Node != message.Metadata.DestinationNodeId)
        {
            throw new SecAggRefusal("secure-aggregation stage out of order for this round");
        }

        return keys;
    }

    private static long[] Nodes(Message message, string key)
    {
        if (message.Content!.Arrays.TryGetValue(SecAggNames.Record, out var arrays) && arrays.ContainsKey(key) && arrays[key].DType == DType.Int64)
        {
            return arrays[key].AsSpan<long>().ToArray();
        }

        throw new SecAggRefusal($"the instruction has no node list '{key}'");
    }

    private static byte[] Bytes(ConfigRecord config, string key) =>
        config.TryGetValue(key, out var v) && v.Kind == ConfigValueKind.Bytes ? v.AsBytes() : throw new SecAggRefusal($"the instruction has no '{key}' bytes");

    private enum RoundStage
    {
        Setup,
        SharedKeys,
        Collected,
    }

    private sealed class RoundKeys : IDisposable
    {
        public required string RunId { get; init; }

        public required int Round { get; init; }

        public required long Node { get; init; }

        public required long[] Neighbours { get; init; }

        public required int Threshold { get; init; }

        public required double Clip { get; init; }

        public required long Levels { get; init; }

        public required long Modulus { get; init; }

        public required double MaxWeight { get; init; }

        public required double? ClipNorm { get; init; }

        public ECDiffieHellman CipherKey { get; } = KeyAgreement.Create();

        public ECDiffieHellman MaskKey { get; } = KeyAgreement.Create();

        public byte[] Seed { get; } = ShamirSharing.RandomSecret();

        public RoundStage Stage { get; set; }

        public Dictionary<long, (ECDiffieHellman Cipher, ECDiffieHellman Mask)> Peers { get; } = [];

        public Dictionary<long, (byte[] Seed, byte[] Key)> Received { get; } = [];

        public long[] Senders { get; set; } = [];

        public void Dispose()
        {
            CipherKey.Dispose();
            MaskKey.Dispose();
            foreach (var (cipher, mask) in Peers.Values)
            {
                cipher.Dispose();
                mask.Dispose();
            }

            CryptographicOperations.ZeroMemory(Seed);
        }
    }

    private sealed class SecAggRefusal(string message) : Exception(message);
}
