namespace Federate.Core;

/// <summary>What a message asks a client app to do.</summary>
public enum MessageType
{
    /// <summary>Train on local data starting from the enclosed model.</summary>
    Train,
    /// <summary>Evaluate the enclosed model on local data.</summary>
    Evaluate,
    /// <summary>Answer a query (properties, parameters).</summary>
    Query,
    /// <summary>Application-defined.</summary>
    Custom,
}
