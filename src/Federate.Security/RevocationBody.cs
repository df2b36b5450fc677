using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>The revocation list body: what the CA signs.</summary>
public sealed record RevocationBody
{
    /// <summary>Project name.</summary>
    [JsonPropertyName("project")]
    public string Project { get; init; } = "";

    /// <summary>Issue time (UTC, ISO 8601).</summary>
    [JsonPropertyName("issued_at")]
    public string IssuedAt { get; init; } = "";

    /// <summary>The revoked certificates.</summary>
    [JsonPropertyName("revoked")]
    public List<RevokedEntry> Revoked { get; init; } = [];
}
