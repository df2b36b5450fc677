using System.Text.Json.Serialization;

namespace Federate.Security;

/// <summary>The CA folder's state (<c>_project/project.json</c>).</summary>
/// <remarks>JSON names: <see cref="KitJson"/>'s snake case, or the attribute where a name differs.</remarks>
internal sealed record ProjectState
{
    public string Project { get; init; } = "";

    public List<string> ServerHosts { get; init; } = [];

    public int ServerPort { get; init; } = 9092;

    public int ValidityDays { get; init; } = 365;

    [JsonPropertyName("certificates")]
    public Dictionary<string, string> Serials { get; init; } = [];

    public List<RevokedEntry> Revoked { get; init; } = [];
}
