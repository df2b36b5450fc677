using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>
/// One client's shares for one neighbour, encrypted with AES-256-GCM under the key the two agreed, and routed
/// through the server, which cannot read or alter them. The plaintext names sender, receiver and round (also bound
/// as associated data), so a share replayed to another node or round is refused.
/// Layout: nonce (12) ‖ ciphertext of [sender (8) ‖ receiver (8) ‖ round (4) ‖ seed share (32) ‖ key share (32)] ‖ tag (16).
/// </summary>
internal static class ShareCipher
{
    private const int PlainSize = 8 + 8 + 4 + (2 * ShamirSharing.Size);

    /// <summary>Bytes of one encrypted share.</summary>
    public const int Size = 12 + PlainSize + 16;

    /// <summary>Encrypts the two shares from <paramref name="sender"/> to <paramref name="receiver"/>.</summary>
    public static byte[] Encrypt(byte[] key, long sender, long receiver, int round, ReadOnlySpan<byte> seedShare, ReadOnlySpan<byte> keyShare)
    {
        var output = new byte[Size];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> plain = stackalloc byte[PlainSize];
        WriteHeader(plain, sender, receiver, round);
        seedShare.CopyTo(plain[20..]);
        keyShare.CopyTo(plain[(20 + ShamirSharing.Size)..]);
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(nonce, plain, output.AsSpan(12, PlainSize), output.AsSpan(12 + PlainSize, 16), plain[..20]);
        CryptographicOperations.ZeroMemory(plain);
        return output;
    }

    /// <summary>
    /// Decrypts a share sent by <paramref name="sender"/> to <paramref name="receiver"/>; null when it does not
    /// authenticate or names other nodes or another round (forged, altered or replayed).
    /// </summary>
    public static (byte[] SeedShare, byte[] KeyShare)? TryDecrypt(byte[] key, ReadOnlySpan<byte> encrypted, long sender, long receiver, int round)
    {
        if (encrypted.Length != Size)
        {
            return null;
        }

        Span<byte> header = stackalloc byte[20];
        WriteHeader(header, sender, receiver, round);
        var plain = new byte[PlainSize];
        try
        {
            using var gcm = new AesGcm(key, 16);
            gcm.Decrypt(encrypted[..12], encrypted.Slice(12, PlainSize), encrypted.Slice(12 + PlainSize, 16), plain, header);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        if (!plain.AsSpan(0, 20).SequenceEqual(header))
        {
            return null;
        }

        return (plain[20..(20 + ShamirSharing.Size)], plain[(20 + ShamirSharing.Size)..]);
    }

    private static void WriteHeader(Span<byte> header, long sender, long receiver, int round)
    {
        BinaryPrimitives.WriteInt64LittleEndian(header, sender);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], receiver);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], round);
    }
}
