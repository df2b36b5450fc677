namespace Federate.Security;

/// <summary>One revoked certificate.</summary>
public sealed record RevokedEntry
{
    /// <summary>Serial number (hex).</summary>
    public string Serial { get; init; } = "";

    /// <summary>Common name of the certificate.</summary>
    public string Name { get; init; } = "";

    /// <summary>When it was revoked (UTC, ISO 8601).</summary>
    public string RevokedAt { get; init; } = "";
}
