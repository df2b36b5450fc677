using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;

namespace Federate.Server.Internal;

/// <summary>
/// Posts notifications as JSON to every webhook URL from a background loop: in order, each retried with backoff,
/// the queue bounded so a dead receiver never holds up a round.
/// </summary>
internal sealed class WebhookSender : IAsyncDisposable
{
    private const int Attempts = 4;
    private readonly Channel<LifecycleNotification> _queue = Channel.CreateBounded<LifecycleNotification>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly IReadOnlyList<Uri> _urls;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Task _loop;

    public WebhookSender(IEnumerable<string> urls, ILogger logger, TimeProvider time)
    {
        _urls = [.. urls.Select(u => new Uri(u))];
        _logger = logger;
        _time = time;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        _loop = Task.Run(RunAsync);
    }

    public void Enqueue(LifecycleNotification notification)
    {
        if (!_queue.Writer.TryWrite(notification))
        {
            ServerLog.WebhookDropped(_logger, notification.NotificationType);
        }
    }

    /// <summary>Sends what is queued (up to <paramref name="timeout"/>), then stops.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        _queue.Writer.TryComplete();
        await Task.WhenAny(_loop, Task.Delay(timeout, _time)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(1), _time)).ConfigureAwait(false);
        _http.Dispose();
    }

    private async Task RunAsync()
    {
        await foreach (var n in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var json = n.ToJson();
            foreach (var url in _urls)
            {
                await PostAsync(url, n.NotificationType, json).ConfigureAwait(false);
            }
        }
    }

    private async Task PostAsync(Uri url, string type, string json)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        string reason = "";
        for (int attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                using var content = new StringContent(json, Encoding.UTF8);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await _http.PostAsync(url, content).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                reason = $"HTTP {(int)response.StatusCode}";
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429)
                {
                    break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                reason = ex.Message;
            }

            if (attempt < Attempts)
            {
                await Task.Delay(delay, _time).ConfigureAwait(false);
                delay *= 2;
            }
        }

        ServerLog.WebhookFailed(_logger, url.ToString(), type, Attempts, reason);
    }
}
