using Federate.Core;

namespace Federate.Client.Flower;

/// <summary>The app's own model, which names and shapes the unnamed (or server-named) tensors Flower servers send.</summary>
internal static class ClientTemplate
{
    /// <summary>Asks the app once with a local query; null when it answers none.</summary>
    public static async Task<ArrayRecord?> AskAsync(IClientApp app, string runId, CancellationToken cancellationToken)
    {
        var content = new RecordDict();
        content.Configs[RecordNames.Config] = new ConfigRecord();
        var query = new Message(new MessageMetadata { RunId = runId, Round = 0, MessageType = MessageType.Query, MessageId = $"{runId}/local/parameters" }, content);
        var reply = await app.HandleAsync(query, cancellationToken).ConfigureAwait(false);
        return reply.Content?.Arrays.GetValueOrDefault(RecordNames.Model) is { Count: > 0 } model ? model : null;
    }
}
