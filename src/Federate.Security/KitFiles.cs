using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>What a participant of a project is.</summary>
public static class KitRoles
{
    /// <summary>The coordinator.</summary>
    public const string Server = "server";

    /// <summary>A site that trains.</summary>
    public const string Client = "client";

    /// <summary>An operator of the inspector and control API.</summary>
    public const string Admin = "admin";
}

/// <summary>The settings file of a startup kit (<c>kit.json</c>).</summary>
public sealed record KitSettings
{
    /// <summary>Format tag.</summary>
    [JsonPropertyName("format")]
    public string Format { get; init; } = "federate-kit/1";

    /// <summary>Project name (the CA's organisation).</summary>
    [JsonPropertyName("project")]
    public string Project { get; init; } = "";

    /// <summary>The participant's name: the certificate's common name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    /// <summary>server, client or admin.</summary>
    [JsonPropertyName("role")]
    public string Role { get; init; } = "";

    /// <summary>The server's common name (its first host name); clients check the server's answer against it.</summary>
    [JsonPropertyName("server_cn")]
    public string ServerCn { get; init; } = "";

    /// <summary>Every host name or address the server's certificate is valid for.</summary>
    [JsonPropertyName("server_hosts")]
    public IReadOnlyList<string> ServerHosts { get; init; } = [];

    /// <summary>The server's port.</summary>
    [JsonPropertyName("server_port")]
    public int ServerPort { get; init; } = 9092;
}

/// <summary>The project's enrolment list kept in the server's kit (<c>participants.json</c>).</summary>
public sealed record Participants
{
    /// <summary>Enrolled client names.</summary>
    [JsonPropertyName("clients")]
    public List<string> Clients { get; init; } = [];

    /// <summary>Enrolled admin names.</summary>
    [JsonPropertyName("admins")]
    public List<string> Admins { get; init; } = [];
}

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

/// <summary>A revocation list signed by the project CA (<c>revoked.json</c>).</summary>
public sealed record SignedRevocationList
{
    /// <summary>The list.</summary>
    [JsonPropertyName("list")]
    public RevocationBody List { get; init; } = new();

    /// <summary>RSA PKCS#1 v1.5 SHA-256 signature by the CA over the UTF-8 JSON of <see cref="List"/>, base64.</summary>
    [JsonPropertyName("signature")]
    public string Signature { get; init; } = "";
}

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

/// <summary>The CA folder's state (<c>_project/project.json</c>).</summary>
internal sealed record ProjectState
{
    [JsonPropertyName("project")]
    public string Project { get; init; } = "";

    [JsonPropertyName("server_hosts")]
    public List<string> ServerHosts { get; init; } = [];

    [JsonPropertyName("server_port")]
    public int ServerPort { get; init; } = 9092;

    [JsonPropertyName("validity_days")]
    public int ValidityDays { get; init; } = 365;

    [JsonPropertyName("certificates")]
    public Dictionary<string, string> Serials { get; init; } = [];

    [JsonPropertyName("revoked")]
    public List<RevokedEntry> Revoked { get; init; } = [];
}

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
