namespace Federate.Security;

/// <summary>A problem with a kit, a certificate or a credential; the message is one line naming what to do.</summary>
public sealed class SecurityException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SecurityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SecurityException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SecurityException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
