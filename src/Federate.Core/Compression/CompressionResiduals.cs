using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federate.Core.Compression;

/// <summary>
/// The error-feedback residuals of many clients by partition id: a simulation's virtual clients, whose apps are created
/// per message, keep their <see cref="UpdateCompressor"/> here. Durable: a simulation resumed from its state directory
/// restores every client's residuals, so it finishes with the same model as an uninterrupted run.
/// </summary>
public sealed partial class CompressionResiduals : IDurableState
{
    private readonly ConcurrentDictionary<int, UpdateCompressor> _clients = new();

    /// <summary>The compressor of partition <paramref name="partitionId"/>, created on first use.</summary>
    public UpdateCompressor Get(int partitionId) => _clients.GetOrAdd(partitionId, _ => new UpdateCompressor());

    /// <inheritdoc />
    public string Name => "compression-residuals";

    /// <summary>Every client's residuals (float32 little-endian, base64) by partition and tensor, as JSON.</summary>
    public string Export()
    {
        var all = new SortedDictionary<int, SortedDictionary<string, byte[]>>();
        foreach (var (partition, compressor) in _clients)
        {
            all[partition] = new SortedDictionary<string, byte[]>(
                compressor.Residuals().ToDictionary(kv => kv.Key, kv => MemoryMarshal.AsBytes(kv.Value.AsSpan()).ToArray()),
                StringComparer.Ordinal);
        }

        return JsonSerializer.Serialize(all, ResidualsJson.Default.SortedDictionaryInt32SortedDictionaryStringByteArray);
    }

    /// <summary>Replaces every client's residuals with the ones of <see cref="Export"/>.</summary>
    /// <exception cref="FormatException">The text is not an export of residuals.</exception>
    public void Import(string state)
    {
        SortedDictionary<int, SortedDictionary<string, byte[]>>? all;
        try
        {
            all = JsonSerializer.Deserialize(state, ResidualsJson.Default.SortedDictionaryInt32SortedDictionaryStringByteArray);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"invalid compression residuals: {ex.Message}", ex);
        }

        _clients.Clear();
        foreach (var (partition, tensors) in all ?? throw new FormatException("invalid compression residuals: null"))
        {
            var compressor = Get(partition);
            foreach (var (name, bytes) in tensors)
            {
                if (bytes.Length % sizeof(float) != 0)
                {
                    throw new FormatException($"invalid compression residuals: tensor '{name}' of partition {partition} has {bytes.Length} bytes");
                }

                compressor.Restore(name, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
            }
        }
    }

    [JsonSerializable(typeof(SortedDictionary<int, SortedDictionary<string, byte[]>>))]
    private sealed partial class ResidualsJson : JsonSerializerContext;
}
