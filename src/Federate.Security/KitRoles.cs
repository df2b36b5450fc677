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
