namespace Federate.Cli;

/// <summary>A problem the user can fix; printed as one line.</summary>
internal sealed class UsageException(string message) : Exception(message);
