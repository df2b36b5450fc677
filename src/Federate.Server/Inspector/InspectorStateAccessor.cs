namespace Federate.Server.Inspector;

/// <summary>Gives request handlers the inspector state (registered once the server is built).</summary>
internal sealed class InspectorStateAccessor
{
    public InspectorState State { get; set; } = null!;

    /// <summary>
    /// Name of the inspector's OpenAPI document: "v1" on the server's own app, "federate-inspector" inside an
    /// embedding app (which may describe its own API as "v1").
    /// </summary>
    public string OpenApiDocument { get; init; } = "v1";

    /// <summary>The inspector's routes are mapped: the coordinator creates the state even without <see cref="FleetServerOptions.Inspector"/>.</summary>
    public bool Mapped { get; set; }
}
