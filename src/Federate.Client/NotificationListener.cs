using System.Net;
using System.Text;
using System.Text.Json;
using Federate.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federate.Client;

/// <summary>
/// Accepts design 4's notification POSTs (JSON <c>{notification_type, training_uuid, body}</c>) on
/// <see cref="HttpListener"/> and answers as design 4 says: 200 for TRAINING_START and TRAINING_FINISHED, 202 for
/// UPDATE_ROUND_START and MODEL_TEST_ROUND, the unknown handler's status for other types, 500 when a handler
/// throws, 400 for malformed JSON, 405 for other methods.
/// </summary>
public sealed class NotificationListener : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly INotificationHandler _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates a listener on HOST:PORT for <paramref name="handler"/>.</summary>
    public NotificationListener(string hostPort, INotificationHandler handler, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(hostPort);
        if (!FleetClientOptions.TryParseServer(hostPort, out var host, out var port))
        {
            throw new ArgumentException($"--notify-listen must look like HOST:PORT, got '{hostPort}'");
        }

        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        _logger = logger ?? NullLogger.Instance;
        var prefixHost = host is "0.0.0.0" or "*" ? "+" : host;
        Prefix = $"http://{prefixHost}:{port}/";
        _listener.Prefixes.Add(Prefix);
    }

    /// <summary>The HttpListener prefix served.</summary>
    public string Prefix { get; }

    /// <summary>Starts accepting requests.</summary>
    public void Start()
    {
        _listener.Start();
        ClientLog.Listening(_logger, Prefix);
        _loop = Task.Run(() => AcceptLoopAsync(_stop.Token));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Close();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
            {
                // Closing the listener ends the accept loop.
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context, cancellationToken), cancellationToken);
        }
    }

    private async Task HandleAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        int status;
        string message;
        try
        {
            if (context.Request.HttpMethod != "POST")
            {
                (status, message) = (405, "only POST is accepted");
            }
            else
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var json = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                LifecycleNotification? notification = null;
                try
                {
                    notification = LifecycleNotification.Parse(json);
                }
                catch (JsonException ex)
                {
                    (status, message) = (400, $"malformed notification: {ex.Message}");
                    goto respond;
                }

                try
                {
                    status = await NotificationDispatcher.DispatchAsync(_handler, notification, cancellationToken).ConfigureAwait(false);
                    message = "ok";
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ClientLog.HandlerFailed(_logger, notification.NotificationType, ex.Message);
                    (status, message) = (500, "the notification handler failed");
                }
            }

        respond:
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string> { ["status"] = message }));
            await context.Response.OutputStream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The caller went away.
        }
    }
}
