namespace Federate.Core.Client;

/// <summary>Middleware around a client app (DP clipping, encryption, budget enforcement, ...).</summary>
public delegate ValueTask<Message> ClientMod(Message message, ClientAppHandler next, CancellationToken cancellationToken);
