using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>Claims of an admin token.</summary>
internal sealed record AdminClaims
{
    [JsonPropertyName("project")]
    public string Project { get; init; } = "";

    [JsonPropertyName("cn")]
    public string Cn { get; init; } = "";

    [JsonPropertyName("iat")]
    public long IssuedMs { get; init; }

    [JsonPropertyName("exp")]
    public long ExpiresMs { get; init; }
}
