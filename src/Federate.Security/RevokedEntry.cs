using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>One revoked certificate.</summary>
public sealed record RevokedEntry
{
    /// <summary>Serial number (hex).</summary>
    [JsonPropertyName("serial")]
    public string Serial { get; init; } = "";

    /// <summary>Common name of the certificate.</summary>
    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    /// <summary>When it was revoked (UTC, ISO 8601).</summary>
    [JsonPropertyName("revoked_at")]
    public string RevokedAt { get; init; } = "";
}
