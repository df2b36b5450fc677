namespace Federate.Security;

/// <summary>Which way a payload travels (part of the authenticated data, so a chunk cannot be reflected).</summary>
public enum PayloadDirection : byte
{
    /// <summary>Server to client (tasks).</summary>
    ToClient = 1,

    /// <summary>Client to server (updates).</summary>
    ToServer = 2,
}
