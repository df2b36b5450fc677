using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Federate.Security;

/// <summary>The kit's JSON files and token payloads (snake case, indented).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(KitSettings))]
[JsonSerializable(typeof(Participants))]
[JsonSerializable(typeof(SignedRevocationList))]
[JsonSerializable(typeof(RevocationBody))]
[JsonSerializable(typeof(ProjectState))]
[JsonSerializable(typeof(TokenClaims))]
[JsonSerializable(typeof(AdminClaims))]
internal sealed partial class KitJson : JsonSerializerContext
{
    /// <summary>The value in <paramref name="utf8Json"/>, or null when it is not valid JSON of that shape.</summary>
    public static T? TryRead<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }


    public static byte[] Canonical(RevocationBody body)
    {
        var compact = new JsonSerializerOptions(Default.Options) { WriteIndented = false };
        return JsonSerializer.SerializeToUtf8Bytes(body, new KitJson(compact).RevocationBody);
    }
}
