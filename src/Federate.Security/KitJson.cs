using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federate.Security;

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
    public static byte[] Canonical(RevocationBody body)
    {
        var compact = new JsonSerializerOptions(Default.Options) { WriteIndented = false };
        return JsonSerializer.SerializeToUtf8Bytes(body, new KitJson(compact).RevocationBody);
    }
}
