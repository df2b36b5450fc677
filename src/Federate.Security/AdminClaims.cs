using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>Claims of an admin token.</summary>
/// <remarks>JSON names: <see cref="KitJson"/>'s snake case, or the attribute where a name differs.</remarks>
internal sealed record AdminClaims
{
    public string Project { get; init; } = "";

    public string Cn { get; init; } = "";

    [JsonPropertyName("iat")]
    public long IssuedMs { get; init; }

    [JsonPropertyName("exp")]
    public long ExpiresMs { get; init; }
}
