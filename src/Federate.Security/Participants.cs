namespace Federate.Security;

/// <summary>The project's enrolment list kept in the server's kit (<c>participants.json</c>).</summary>
public sealed record Participants
{
    /// <summary>Enrolled client names.</summary>
    public List<string> Clients { get; init; } = [];

    /// <summary>Enrolled admin names.</summary>
    public List<string> Admins { get; init; } = [];
}
