namespace Federate.Security;

/// <summary>A revocation list signed by the project CA (<c>revoked.json</c>).</summary>
public sealed record SignedRevocationList
{
    /// <summary>The list.</summary>
    public RevocationBody List { get; init; } = new();

    /// <summary>RSA PKCS#1 v1.5 SHA-256 signature by the CA over the UTF-8 JSON of <see cref="List"/>, base64.</summary>
    public string Signature { get; init; } = "";
}
