namespace Federate.Security;

/// <summary>The settings file of a startup kit (<c>kit.json</c>).</summary>
public sealed record KitSettings
{
    /// <summary>Format tag.</summary>
    public string Format { get; init; } = "federate-kit/1";

    /// <summary>Project name (the CA's organisation).</summary>
    public string Project { get; init; } = "";

    /// <summary>The participant's name: the certificate's common name.</summary>
    public string Name { get; init; } = "";

    /// <summary>server, client or admin.</summary>
    public string Role { get; init; } = "";

    /// <summary>The server's common name (its first host name); clients check the server's answer against it.</summary>
    public string ServerCn { get; init; } = "";

    /// <summary>Every host name or address the server's certificate is valid for.</summary>
    public IReadOnlyList<string> ServerHosts { get; init; } = [];

    /// <summary>The server's port.</summary>
    public int ServerPort { get; init; } = 9092;
}
