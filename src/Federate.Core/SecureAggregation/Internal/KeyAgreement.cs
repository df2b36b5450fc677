using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// P-256 key agreement for secure aggregation: key pairs, public keys as 64 bytes (X ‖ Y), private keys as 32-byte
/// scalars, and HKDF-SHA256 of the shared secret bound to the run, round, the two nodes and a purpose, so a key
/// agreed for one round or purpose is never reused for another.
/// </summary>
internal static class KeyAgreement
{
    /// <summary>Bytes of a public key (X ‖ Y).</summary>
    public const int PublicKeySize = 64;

    /// <summary>Purpose of the key that encrypts shares.</summary>
    public const string SharePurpose = "federate-secagg-share-key";

    /// <summary>Purpose of the pairwise mask seed.</summary>
    public const string MaskPurpose = "federate-secagg-pairwise-mask";

    /// <summary>A fresh key pair from the platform's CSPRNG.</summary>
    public static ECDiffieHellman Create() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public key as X ‖ Y.</summary>
    public static byte[] ExportPublic(ECDiffieHellman key)
    {
        var p = key.ExportParameters(false);
        return [.. p.Q.X!, .. p.Q.Y!];
    }

    /// <summary>The private scalar (32 bytes, big-endian).</summary>
    public static byte[] ExportPrivate(ECDiffieHellman key) => key.ExportParameters(true).D!;

    /// <summary>
    /// Imports a peer's public key; null when the bytes are not a point of P-256 (a forged or malformed key).
    /// </summary>
    public static ECDiffieHellman? TryImportPublic(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize)
        {
            return null;
        }

        try
        {
            var key = ECDiffieHellman.Create();
            key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = publicKey[..32].ToArray(), Y = publicKey[32..].ToArray() } });
            return key;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// Imports a rebuilt private key together with the public key its owner announced; null when they do not belong
    /// together (forged shares rebuild a different scalar).
    /// </summary>
    public static ECDiffieHellman? TryImportPrivate(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        if (privateKey.Length != 32 || publicKey.Length != PublicKeySize)
        {
            return null;
        }

        try
        {
            var key = ECDiffieHellman.Create();
            key.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = privateKey.ToArray(),
                Q = new ECPoint { X = publicKey[..32].ToArray(), Y = publicKey[32..].ToArray() },
            });
            // The platform checks the point; this also checks that D belongs to Q.
            return ExportPublic(key).AsSpan().SequenceEqual(publicKey) && MatchesPublic(key, publicKey) ? key : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// A 32-byte key agreed between <paramref name="own"/> and <paramref name="peer"/>, bound to the run, round, the
    /// unordered pair of nodes and <paramref name="purpose"/>.
    /// </summary>
    public static byte[] Derive(ECDiffieHellman own, ECDiffieHellman peer, string runId, int round, long nodeA, long nodeB, string purpose)
    {
        var secret = own.DeriveRawSecretAgreement(peer.PublicKey);
        try
        {
            var info = new byte[8 + 16];
            BinaryPrimitives.WriteInt64LittleEndian(info, round);
            BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(8), Math.Min(nodeA, nodeB));
            BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(16), Math.Max(nodeA, nodeB));
            byte[] fullInfo = [.. Encoding.UTF8.GetBytes(purpose), 0, .. info];
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, Encoding.UTF8.GetBytes(runId), fullInfo);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>The key of a client's self mask, from its self-mask seed, bound to the run and round.</summary>
    public static byte[] SelfMaskKey(ReadOnlySpan<byte> seed, string runId, int round)
    {
        var info = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(info, round);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, seed.ToArray(), 32, Encoding.UTF8.GetBytes(runId), [.. "federate-secagg-self-mask"u8, 0, .. info]);
    }

    // D·G = Q: derive with a fresh key both ways; equal secrets only when the private key matches the public key.
    private static bool MatchesPublic(ECDiffieHellman key, ReadOnlySpan<byte> publicKey)
    {
        using var probe = Create();
        using var announced = TryImportPublic(publicKey);
        if (announced is null)
        {
            return false;
        }

        var a = key.DeriveRawSecretAgreement(probe.PublicKey);
        var b = probe.DeriveRawSecretAgreement(announced.PublicKey);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}
