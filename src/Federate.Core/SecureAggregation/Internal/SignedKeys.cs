using System.Buffers.Binary;
using System.Text;

namespace Federate.Core.SecureAggregation.Internal;

/// <summary>What a client signs about its keys, and the length-prefixed lists the server forwards certificates and signatures in.</summary>
internal static class SignedKeys
{
    /// <summary>The signed transcript: purpose, run, round, node and both public keys.</summary>
    public static byte[] Transcript(string runId, int round, long node, byte[] cipherKey, byte[] maskKey)
    {
        var run = Encoding.UTF8.GetBytes(runId);
        var bytes = new byte[32 + 4 + run.Length + 12 + cipherKey.Length + maskKey.Length];
        "federate-secagg-keys-v1"u8.CopyTo(bytes);
        int o = 32;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(o), run.Length);
        run.CopyTo(bytes, o += 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(o += run.Length), round);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(o += 4), node);
        cipherKey.CopyTo(bytes, o += 8);
        maskKey.CopyTo(bytes, o + cipherKey.Length);
        return bytes;
    }

    /// <summary>Items, each prefixed by its length.</summary>
    public static byte[] Pack(IEnumerable<byte[]> items)
    {
        using var stream = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (var item in items)
        {
            BinaryPrimitives.WriteInt32LittleEndian(length, item.Length);
            stream.Write(length);
            stream.Write(item);
        }

        return stream.ToArray();
    }

    /// <summary>The items of <see cref="Pack"/>; null when the bytes are not exactly <paramref name="count"/> items.</summary>
    public static byte[][]? Unpack(byte[] bytes, int count)
    {
        var items = new byte[count][];
        int o = 0;
        for (int i = 0; i < count; i++)
        {
            if (bytes.Length - o < 4)
            {
                return null;
            }

            int n = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(o));
            o += 4;
            if (n < 0 || n > bytes.Length - o)
            {
                return null;
            }

            items[i] = bytes.AsSpan(o, n).ToArray();
            o += n;
        }

        return o == bytes.Length ? items : null;
    }
}
