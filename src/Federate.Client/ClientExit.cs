namespace Federate.Client;

/// <summary>How a client's participation ended.</summary>
public enum ClientExit
{
    /// <summary>The server said the run finished.</summary>
    Finished,

    /// <summary>The operator stopped the client (it quit the run).</summary>
    Stopped,
}
