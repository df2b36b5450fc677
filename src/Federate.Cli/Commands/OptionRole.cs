namespace Federate.Cli.Commands;

/// <summary>Which command an <see cref="OptionGroup"/> serves: the meaning is the same, the help says how it applies.</summary>
internal enum OptionRole
{
    /// <summary><c>federate sim</c>: the value is used by every virtual client.</summary>
    Simulation,

    /// <summary><c>federate server</c>: the value is sent to the clients in the round config.</summary>
    Server,

    /// <summary><c>federate client</c>: the value applies when the server's round config does not set it.</summary>
    Client,
}
