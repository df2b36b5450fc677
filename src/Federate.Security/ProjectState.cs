using System.Text.Json.Serialization;

namespace Federate.Security;

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
