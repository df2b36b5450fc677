namespace Federate.Protocol;

/// <summary>
/// One content-addressed object of Flower's Fleet API (Flower 1.19 and later): the bytes
/// <c>"&lt;Type&gt; &lt;child ids, comma-separated&gt; &lt;body length&gt;\0&lt;body&gt;"</c>, whose object id is the
/// SHA-256 (lowercase hex) of those bytes. Types: <c>Message</c>, <c>RecordDict</c>, <c>ArrayRecord</c>,
/// <c>Array</c>, <c>ConfigRecord</c>, <c>MetricRecord</c> (and <c>ArrayChunk</c> from Flower 1.20).
/// </summary>
/// <param name="Type">The object's type name.</param>
/// <param name="Children">The object ids of its children, in order.</param>
/// <param name="Body">The object's body.</param>
public sealed record FlowerObject(string Type, IReadOnlyList<string> Children, ReadOnlyMemory<byte> Body)
{
    /// <summary>The object id of <paramref name="content"/>: SHA-256 as 64 lowercase hex digits.</summary>
    public static string IdOf(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));

    /// <summary>True when <paramref name="id"/> looks like an object id (64 hex digits).</summary>
    public static bool IsObjectId(string id) => id.Length == 64 && id.All(char.IsAsciiHexDigit);

    /// <summary>The object's bytes: head, the <c>\0</c> divider, body.</summary>
    public byte[] ToBytes()
    {
        var head = System.Text.Encoding.UTF8.GetBytes($"{Type} {string.Join(',', Children)} {Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        var bytes = new byte[head.Length + 1 + Body.Length];
        head.CopyTo(bytes, 0);
        Body.Span.CopyTo(bytes.AsSpan(head.Length + 1));
        return bytes;
    }

    /// <summary>Reads an object's bytes, checking the head's three parts, the child ids and the body length.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a Flower object.</exception>
    public static FlowerObject Parse(ReadOnlyMemory<byte> content)
    {
        int divider = content.Span.IndexOf((byte)0);
        if (divider < 0)
        {
            throw new InvalidDataException("the object has no head (no \\0 divider)");
        }

        string head = System.Text.Encoding.UTF8.GetString(content.Span[..divider]);
        var parts = head.Split(' ');
        if (parts.Length != 3 || !int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int length))
        {
            throw new InvalidDataException($"the object's head '{Shorten(head)}' is not '<type> <children> <body length>'");
        }

        string[] children = parts[1].Length == 0 ? [] : parts[1].Split(',');
        if (children.FirstOrDefault(c => !IsObjectId(c)) is { } bad)
        {
            throw new InvalidDataException($"the object's head names an invalid child id '{Shorten(bad)}'");
        }

        var body = content[(divider + 1)..];
        if (body.Length != length)
        {
            throw new InvalidDataException($"the object's head says {length} body bytes but it has {body.Length}");
        }

        return new FlowerObject(parts[0], children, body);
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
