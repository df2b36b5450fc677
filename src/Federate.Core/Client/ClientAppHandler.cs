namespace Federate.Core.Client;

/// <summary>Handles one instruction and returns its reply.</summary>
public delegate ValueTask<Message> ClientAppHandler(Message message, CancellationToken cancellationToken);
