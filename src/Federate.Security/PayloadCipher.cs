using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federate.Security;

/// <summary>
/// Payload encryption (design 1): a per-session AES-256 key, wrapped for the client with RSA-OAEP-SHA256, encrypts
/// every tensor chunk with AES-256-GCM (fresh random 96-bit nonce per chunk, 128-bit tag). The authenticated data binds
/// the chunk to its direction, node, tensor index and byte offset. The chunk's SHA-256 (over the plaintext) and the
/// per-tensor digest still check the content after decryption. Thread-safe: each call uses its own AES-GCM instance.
/// </summary>
public sealed class PayloadCipher
{
    /// <summary>Key length: 32 bytes (AES-256).</summary>
    public const int KeyLength = 32;

    /// <summary>Nonce length: 12 bytes.</summary>
    public const int NonceLength = 12;

    /// <summary>Tag length: 16 bytes.</summary>
    public const int TagLength = 16;

    private const int AadLength = 1 + 8 + 4 + 8;

    private readonly byte[] _key;
    private readonly long _nodeId;

    /// <summary>A cipher over a session key for one node.</summary>
    public PayloadCipher(byte[] key, long nodeId)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"a payload key has {KeyLength} bytes, got {key.Length}");
        }

        _key = key;
        _nodeId = nodeId;
    }

    /// <summary>A fresh random session key.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyLength);

    /// <summary>Wraps a session key for the holder of <paramref name="recipient"/>'s private key (RSA-OAEP-SHA256).</summary>
    public static byte[] Wrap(byte[] key, X509Certificate2 recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        using var rsa = recipient.GetRSAPublicKey() ?? throw new SecurityException("the recipient certificate has no RSA key");
        return rsa.Encrypt(key, RSAEncryptionPadding.OaepSHA256);
    }

    /// <summary>Unwraps a session key with a private key.</summary>
    /// <exception cref="SecurityException">The key cannot be unwrapped (not for this kit).</exception>
    public static byte[] Unwrap(byte[] wrapped, RSA privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        try
        {
            var key = privateKey.Decrypt(wrapped, RSAEncryptionPadding.OaepSHA256);
            return key.Length == KeyLength ? key : throw new SecurityException("the unwrapped payload key has the wrong length");
        }
        catch (CryptographicException ex)
        {
            throw new SecurityException($"the server's payload key cannot be unwrapped with this kit's key: {ex.Message}");
        }
    }

    /// <summary>Encrypts a chunk; returns the ciphertext, the nonce and the tag.</summary>
    public (byte[] Ciphertext, byte[] Nonce, byte[] Tag) Encrypt(ReadOnlySpan<byte> plaintext, PayloadDirection direction, uint tensorIndex, ulong offset)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceLength);
        var tag = new byte[TagLength];
        var ciphertext = new byte[plaintext.Length];
        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(aad, direction, tensorIndex, offset);
        using var aes = new AesGcm(_key, TagLength);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        return (ciphertext, nonce, tag);
    }

    /// <summary>Decrypts a chunk; null with a one-line problem when it fails authentication.</summary>
    public byte[]? Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag, PayloadDirection direction, uint tensorIndex, ulong offset, out string? problem)
    {
        var plaintext = ciphertext.ToArray();
        return TryDecryptInPlace(plaintext, nonce, tag, direction, tensorIndex, offset, out problem) ? plaintext : null;
    }

    /// <summary>
    /// Decrypts a chunk in place (<paramref name="data"/> holds the ciphertext, then the plaintext): no buffer per
    /// chunk on the receiving side. False with a one-line problem when it fails authentication (the data is then zeroed).
    /// </summary>
    public bool TryDecryptInPlace(Span<byte> data, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag, PayloadDirection direction, uint tensorIndex, ulong offset, out string? problem)
    {
        if (nonce.Length != NonceLength || tag.Length != TagLength)
        {
            problem = $"chunk of tensor {tensorIndex} at byte offset {offset} is not encrypted (payload encryption is on for this session)";
            return false;
        }

        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(aad, direction, tensorIndex, offset);
        try
        {
            using var aes = new AesGcm(_key, TagLength);
            aes.Decrypt(nonce, data, tag, data, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            problem = $"chunk of tensor {tensorIndex} at byte offset {offset} fails AES-GCM authentication (tampered or wrong key)";
            return false;
        }

        problem = null;
        return true;
    }

    /// <summary>The authenticated data (direction, node, tensor index, byte offset), on the stack: no allocation per chunk.</summary>
    private void WriteAad(Span<byte> aad, PayloadDirection direction, uint tensorIndex, ulong offset)
    {
        aad[0] = (byte)direction;
        BinaryPrimitives.WriteInt64BigEndian(aad[1..], _nodeId);
        BinaryPrimitives.WriteUInt32BigEndian(aad[9..], tensorIndex);
        BinaryPrimitives.WriteUInt64BigEndian(aad[13..], offset);
    }
}
