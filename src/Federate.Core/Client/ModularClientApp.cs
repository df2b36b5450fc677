namespace Federate.Core.Client;

/// <summary>A client app made of a handler wrapped by mods; the first mod registered runs first.</summary>
public sealed class ModularClientApp : IClientApp
{
    private readonly ClientAppHandler _pipeline;

    /// <summary>Wraps <paramref name="handler"/> with <paramref name="mods"/> (first runs first).</summary>
    public ModularClientApp(ClientAppHandler handler, params ClientMod[] mods)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var pipeline = handler;
        for (int i = mods.Length - 1; i >= 0; i--)
        {
            var mod = mods[i];
            var next = pipeline;
            pipeline = (m, ct) => mod(m, next, ct);
        }

        _pipeline = pipeline;
    }

    /// <inheritdoc />
    public async ValueTask<Message> HandleAsync(Message message, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or NotSupportedException or InvalidDataException or KeyNotFoundException or InvalidCastException)
        {
            return message.CreateErrorReply(new MessageError("client_error", ex.Message));
        }
    }
}
