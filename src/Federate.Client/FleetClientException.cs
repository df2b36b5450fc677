namespace Federate.Client;

/// <summary>A problem a client cannot retry its way out of (e.g. an incompatible server); the message is one line.</summary>
public sealed class FleetClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FleetClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public FleetClientException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public FleetClientException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
