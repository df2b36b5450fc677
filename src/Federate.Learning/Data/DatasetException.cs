namespace Federate.Learning.Data;

/// <summary>A dataset could not be loaded; the message says what is wrong and what to do.</summary>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DatasetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public DatasetException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DatasetException()
    {
    }
}
