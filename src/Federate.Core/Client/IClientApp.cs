namespace Federate.Core.Client;

/// <summary>A client app: answers train, evaluate and query instructions for one node.</summary>
public interface IClientApp
{
    /// <summary>Handles an instruction. Expected failures come back as error replies, not exceptions.</summary>
    ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken);
}
