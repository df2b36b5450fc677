using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>The inspector's Prometheus endpoint, scraped during a run of a real server process with a real client.</summary>
public sealed class MetricsTests(ITestOutputHelper log)
{
    private const string Token = "metrics-test-token";

    [Fact]
    public async Task Metrics_ScrapedBetweenRounds_FederateSeriesCountRoundsAndBytes()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        string[] iris = ["--dataset", "iris", "--model", "logistic", "--local-epochs", "1"];
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], [.. iris, "--manual", "--admin-token", Token, "--min-clients", "1", "--rounds", "3"]));
        var url = await Args.InspectorUrlAsync(server);
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, iris));
        await server.WaitForLineAsync("joined");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

        // Before the first round: one node connected, no round yet.
        var before = await ScrapeAsync(http);
        Assert.Equal(1, before.Value("federate_nodes_connected"));
        Assert.Null(before.Value("federate_rounds_total"));

        var first = await RoundAsync(http, server, 1);
        Assert.Equal(1, first.Value("federate_rounds_total"));
        Assert.Equal(1, first.Value("federate_round_duration_seconds_count"));
        Assert.Equal(1, first.Value("federate_stage_duration_seconds_count", ("federate_stage", "train")));
        Assert.Equal(1, first.Value("federate_stage_duration_seconds_count", ("federate_stage", "evaluate")));
        Assert.Equal(1, first.Value("federate_aggregation_duration_seconds_count"));
        Assert.Equal(1, first.Value("federate_node_replies_total", ("federate_stage", "train")));
        Assert.True(first.Value("federate_network_io_bytes_total", ("network_io_direction", "receive")) > 0);
        Assert.True(first.Value("federate_network_io_bytes_total", ("network_io_direction", "transmit")) > 0);

        var second = await RoundAsync(http, server, 2);
        Assert.Equal(2, second.Value("federate_rounds_total"));
        Assert.Equal(2, second.Value("federate_round_duration_seconds_count"));
        Assert.Equal(2, second.Value("federate_node_replies_total", ("federate_stage", "train")));
        Assert.Equal(1, second.Value("federate_nodes_connected"));
        Assert.Null(second.Value("federate_node_failures_total"));

        // The logistic model's parameters (iris: 4 x 3 weights and 3 biases, float32) go out and come back each round.
        long model = ((4 * 3) + 3) * sizeof(float);
        Assert.Equal(model, second.Value("federate_network_io_bytes_total", ("network_io_direction", "receive")) - first.Value("federate_network_io_bytes_total", ("network_io_direction", "receive")));
        Assert.True(second.Value("federate_network_io_bytes_total", ("network_io_direction", "transmit")) > first.Value("federate_network_io_bytes_total", ("network_io_direction", "transmit")));
    }

    private static async Task<PrometheusText> RoundAsync(HttpClient http, FederateProcess server, int round)
    {
        using (var request = new HttpRequestMessage(HttpMethod.Post, "api/runs/current/rounds"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await server.WaitForLineAsync($"round {round}:");
        return await ScrapeAsync(http);
    }

    private static async Task<PrometheusText> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return new PrometheusText(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Samples of a Prometheus text exposition: "name{label="value",...} number".</summary>
    private sealed class PrometheusText(string text)
    {
        private readonly List<(string Name, string Labels, double Value)> _samples = [.. text.Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l =>
            {
                int space = l.LastIndexOf(' ');
                int brace = l.IndexOf('{', StringComparison.Ordinal);
                string series = l[..space];
                return brace >= 0 && brace < space
                    ? (series[..brace], series[brace..], double.Parse(l[(space + 1)..], CultureInfo.InvariantCulture))
                    : (series, "", double.Parse(l[(space + 1)..], CultureInfo.InvariantCulture));
            })];

        /// <summary>The sum of the samples of <paramref name="name"/> carrying the labels, or null when there are none.</summary>
        public double? Value(string name, params (string Label, string Value)[] labels)
        {
            var matching = _samples.Where(s => s.Name == name && labels.All(l => s.Labels.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal))).ToList();
            return matching.Count == 0 ? null : matching.Sum(s => s.Value);
        }
    }
}
