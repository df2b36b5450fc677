using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>Claims of a session token.</summary>
internal sealed record TokenClaims
{
    [JsonPropertyName("node")]
    public long Node { get; init; }

    [JsonPropertyName("cn")]
    public string Cn { get; init; } = "";

    [JsonPropertyName("run")]
    public string Run { get; init; } = "";

    [JsonPropertyName("serial")]
    public string Serial { get; init; } = "";

    [JsonPropertyName("exp")]
    public long ExpiresMs { get; init; }

    [JsonPropertyName("jti")]
    public string Id { get; init; } = "";
}
