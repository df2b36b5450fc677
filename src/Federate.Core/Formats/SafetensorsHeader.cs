using System.Buffers.Binary;
using System.Text.Json;

namespace Federate.Core.Formats;

/// <summary>
/// The header of a safetensors file: an 8-byte little-endian length, then a JSON object naming each tensor's dtype,
/// shape and byte range in the data section, plus an optional string map under <c>__metadata__</c>.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>Largest header accepted (100 MiB, the format's own limit).</summary>
    public const ulong MaxBytes = 100UL * 1024 * 1024;

    private SafetensorsHeader(List<Entry> entries, Dictionary<string, string> metadata, long dataStart)
    {
        Entries = entries;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>The tensors in header order.</summary>
    public List<Entry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>Offset of the data section from the start of the file.</summary>
    public long DataStart { get; }

    /// <summary>
    /// Reads and checks the header at the stream's position: every dtype supported, every byte range the size its
    /// dtype and shape need. Throws <see cref="InvalidDataException"/> with a one-line reason otherwise.
    /// </summary>
    public static SafetensorsHeader Read(Stream stream)
    {
        Span<byte> len = stackalloc byte[8];
        stream.ReadExactly(len);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (headerLength == 0 || headerLength > MaxBytes)
        {
            throw new InvalidDataException($"not a safetensors file: header length {headerLength} is out of range");
        }

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(headerBytes);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var m in property.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.GetString() ?? "";
                    }

                    continue;
                }

                entries.Add(ReadEntry(property));
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"not a safetensors file: the header is not valid ({ex.Message})", ex);
        }

        return new SafetensorsHeader(entries, metadata, 8 + (long)headerLength);
    }

    private static Entry ReadEntry(JsonProperty property)
    {
        var dtypeName = property.Value.GetProperty("dtype").GetString() ?? "";
        if (!DTypes.TryParseSafetensorsName(dtypeName, out var dtype))
        {
            throw new InvalidDataException($"tensor '{property.Name}' has dtype '{dtypeName}', which Federate does not support");
        }

        var shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
        {
            throw new InvalidDataException($"tensor '{property.Name}' has invalid data offsets");
        }

        long need = Tensor.ElementCount(shape) * dtype.SizeOf();
        if (offsets[1] - offsets[0] != need)
        {
            throw new InvalidDataException($"tensor '{property.Name}': offsets span {offsets[1] - offsets[0]} bytes but dtype and shape need {need}");
        }

        return new Entry(property.Name, dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>One tensor of the header: name, dtype, shape and byte range [Begin, End) in the data section.</summary>
    public readonly record struct Entry(string Name, DType DType, long[] Shape, long Begin, long End);
}
