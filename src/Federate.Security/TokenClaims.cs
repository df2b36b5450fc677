using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>Claims of a session token.</summary>
/// <remarks>JSON names: <see cref="KitJson"/>'s snake case, or the attribute where a name differs.</remarks>
internal sealed record TokenClaims
{
    public long Node { get; init; }

    public string Cn { get; init; } = "";

    public string Run { get; init; } = "";

    public string Serial { get; init; } = "";

    [JsonPropertyName("exp")]
    public long ExpiresMs { get; init; }

    [JsonPropertyName("jti")]
    public string Id { get; init; } = "";
}
