using System.Globalization;
using System.Net;
using System.Text.Json;
using Federate.IntegrationTests;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Federate.Browser.Tests;

/// <summary>
/// The inspector's dashboard in headless Chromium (Debian's <c>chromium</c>, driven by Playwright) against a real
/// <c>federate server</c> and real clients. Screenshots go to <c>TestResults/screenshots</c> at the repository root.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string Token = "browser-test-token";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            Args = ["--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    [Fact]
    public async Task Dashboard_DemoServer_LoadsRunsRoundsFromButtonsAndShowsJoiningClients()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--demo", "--min-clients", "1", "--admin-token", Token, "--local-epochs", "2", "--heartbeat-interval", "0.5", "--node-expiry", "60"));
        var url = await Args.InspectorUrlAsync(server);
        await using var client1 = FederateProcess.Start("client1", log, Args.ClientArgs(port, "--dataset", "synthetic-sensors", "--dataset-id", "0", "--num-partitions", "3", "--name", "site-a"));
        await server.WaitForLineAsync("node 1 'site-a' joined");

        var page = await NewPageAsync(1280, 900);
        var errors = CollectErrors(page);
        var response = await page.GotoAsync(url.ToString());
        Assert.Equal(200, response!.Status);
        await page.WaitForSelectorAsync("body[data-ready=true]");
        var loadMs = await page.EvaluateAsync<double>("() => performance.getEntriesByType('navigation')[0].loadEventEnd");
        var readyMs = await page.EvaluateAsync<double>("() => performance.getEntriesByName('inspector-ready')[0].startTime");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dashboard load: loadEventEnd {loadMs:0} ms, data shown (inspector-ready) {readyMs:0} ms"));
        Assert.Equal("Federate inspector", await page.TitleAsync());
        Assert.Equal("waiting for round 1", await page.InnerTextAsync("#run-status"));
        await WaitAsync(page, "document.querySelectorAll('#clients tbody tr[data-node-id]').length === 1");
        Assert.Contains("site-a", await page.InnerTextAsync("#clients tbody"), StringComparison.Ordinal);
        Assert.False(await page.IsHiddenAsync("#generate-data")); // demo-only action shown in demo mode
        await ScreenshotAsync(page, "01-loaded-waiting.png");

        // Without the admin token the button is refused with the server's message.
        await page.ClickAsync("#next-round");
        await WaitAsync(page, "document.getElementById('message').classList.contains('error')");
        Assert.StartsWith("no admin credential: send 'Authorization: Bearer TOKEN'", await page.InnerTextAsync("#message"), StringComparison.Ordinal);

        // With it, "Next round" starts round 1 and the chart updates live (server-sent events).
        await page.FillAsync("#admin-token", Token);
        await page.ClickAsync("#next-round");
        await WaitAsync(page, "document.getElementById('chart-loss').dataset.rounds === '1'");
        await WaitAsync(page, "document.getElementById('chart-scores').dataset.rounds === '1'");
        Assert.Equal("2", await page.GetAttributeAsync("#chart-loss", "data-series")); // train and evaluate loss
        Assert.Contains("evaluate accuracy", await page.InnerTextAsync("#legend-scores"), StringComparison.Ordinal);
        await server.WaitForLineAsync("round 1:");

        // A client that joins appears in the table.
        await using var client2 = FederateProcess.Start("client2", log, Args.ClientArgs(port, "--dataset", "synthetic-sensors", "--dataset-id", "1", "--num-partitions", "3", "--name", "site-b"));
        await WaitAsync(page, "[...document.querySelectorAll('#clients tbody tr')].some(r => r.textContent.includes('site-b'))");

        // Demo: every client generates new data; the data view shows the seed.
        await page.ClickAsync("#generate-data");
        await client1.WaitForLineAsync("demo: partition 0 generated 1000 rows");
        await client2.WaitForLineAsync("demo: partition 1 generated 1000 rows");
        await WaitAsync(page, "[...document.querySelectorAll('#events li')].some(li => li.textContent.includes('demo generate'))");

        await page.ClickAsync("#next-round");
        await WaitAsync(page, "document.getElementById('chart-loss').dataset.rounds === '2'");
        await WaitAsync(page, "[...document.querySelectorAll('#demo-data tbody tr')].length === 2 && [...document.querySelectorAll('#demo-data tbody tr')].every(r => /\\d/.test(r.cells[5].textContent))");
        // Node 1 (site-a) took part in both rounds: the test pins node ids, so nodes never expire here (expiry 60 s).
        await WaitAsync(page, "document.querySelector('#clients tbody tr[data-node-id=\"1\"]').cells[4].textContent === '2'"); // rounds done
        await ScreenshotAsync(page, "02-two-rounds-two-clients.png");

        // Narrow window: one column, no horizontal scrolling.
        await page.SetViewportSizeAsync(390, 844);
        await WaitAsync(page, "document.documentElement.scrollWidth <= 391");
        await ScreenshotAsync(page, "03-narrow.png");

        // The only console error is Chromium's note about the refused (401) request above.
        Assert.Equal(["Failed to load resource: the server responded with a status of 401 (Unauthorized)"], errors);
    }

    [Fact]
    public async Task Dashboard_AutomaticRun_ChartsFollowRoundsLive()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "iris", "--model", "logistic", "--min-clients", "1", "--rounds", "4", "--local-epochs", "2"));
        var url = await Args.InspectorUrlAsync(server);

        // During a normal run, GET / is the dashboard and GET /api/runs is JSON.
        using (var http = new HttpClient { Timeout = Timeout })
        {
            using var index = await http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
            Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<canvas id=\"chart-loss\"", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var runs = JsonDocument.Parse(await http.GetStringAsync(new Uri(url, "api/runs")));
            Assert.Equal("running", runs.RootElement[0].GetProperty("status").GetString());
        }

        var page = await NewPageAsync(1024, 768);
        var errors = CollectErrors(page);
        await page.GotoAsync(url.ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic"));
        await WaitAsync(page, "document.getElementById('chart-scores').dataset.rounds === '4'");
        Assert.Equal("4", await page.GetAttributeAsync("#chart-loss", "data-rounds"));
        await WaitAsync(page, "document.getElementById('run-status').textContent === 'finished'");
        Assert.Contains("reached the round limit of 4", await page.InnerTextAsync("#run-progress"), StringComparison.Ordinal);

        // The canvas really has drawn lines: some pixels are not background.
        var inked = await page.EvaluateAsync<int>("() => { const c = document.getElementById('chart-scores'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");
        Assert.True(inked > 1000, $"the scores chart has only {inked} drawn pixels");
        await ScreenshotAsync(page, "04-automatic-run-finished.png");
        Assert.Equal(0, await server.WaitForExitAsync());

        // No script errors and no refused requests; only connection errors once the server has ended after the run
        // ("Failed to load resource: net::ERR_CONNECTION_REFUSED" from the page's polling).
        lock (errors)
        {
            Assert.DoesNotContain(errors, e => !e.StartsWith("Failed to load resource: net::", StringComparison.Ordinal));
        }
    }

    private async Task<IPage> NewPageAsync(int width, int height)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        page.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        return page;
    }

    private static List<string> CollectErrors(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add(error);
            }
        };
        return errors;
    }

    private static async Task WaitAsync(IPage page, string condition)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => {condition}", null, new PageWaitForFunctionOptions { Timeout = (float)Timeout.TotalMilliseconds, PollingInterval = 100 });
        }
        catch (TimeoutException ex)
        {
            var text = await page.InnerTextAsync("body");
            throw new TimeoutException($"the page never satisfied '{condition}' within {Timeout.TotalSeconds} s; page text:\n{text}", ex);
        }
    }

    private async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ScreenshotDirectory(), name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        log.WriteLine($"screenshot: {path}");
    }

    private static string ScreenshotDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Federate.slnx")))
        {
            dir = dir.Parent;
        }

        var path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string ChromiumPath()
    {
        foreach (var candidate in (string[])[Environment.GetEnvironmentVariable("FEDERATE_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser"])
        {
            if (candidate.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("Chromium not found; install it with 'sudo apt-get install chromium' (.ci/run does) or set FEDERATE_CHROMIUM to its path");
    }
}
