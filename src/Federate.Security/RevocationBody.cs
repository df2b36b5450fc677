namespace Federate.Security;

/// <summary>The revocation list body: what the CA signs.</summary>
public sealed record RevocationBody
{
    /// <summary>Project name.</summary>
    public string Project { get; init; } = "";

    /// <summary>Issue time (UTC, ISO 8601).</summary>
    public string IssuedAt { get; init; } = "";

    /// <summary>The revoked certificates.</summary>
    public List<RevokedEntry> Revoked { get; init; } = [];
}
