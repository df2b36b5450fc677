using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>The inspector's JSON API over real HTTP on 127.0.0.1, against a real server and client.</summary>
public sealed class InspectorApiTests(ITestOutputHelper log)
{
    private const string Token = "api-test-token";

    private static string[] Iris(params string[] more) => ["--dataset", "iris", "--model", "logistic", "--local-epochs", "1", .. more];

    [Fact]
    public async Task Api_ManualServer_EndpointsActionsAndStop()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], Iris("--manual", "--admin-token", Token, "--min-clients", "1", "--rounds", "5")));
        var url = await Args.InspectorUrlAsync(server);
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, Iris("--name", "c1")));
        await server.WaitForLineAsync("node 1 'c1' joined");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

        using (var status = await GetJsonAsync(http, "api/status"))
        {
            Assert.True(status.RootElement.GetProperty("control").GetProperty("manual").GetBoolean());
            Assert.True(status.RootElement.GetProperty("admin_required").GetBoolean());
        }

        // Admin actions without or with a wrong credential: 401 problem+json naming what to do.
        using (var refused = await http.PostAsync("api/runs/current/rounds", null))
        {
            await AssertProblemAsync(refused, HttpStatusCode.Unauthorized, "no admin credential: send 'Authorization: Bearer TOKEN' with the server's admin token");
            Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var wrong = await PostAsync(http, "api/runs/current/rounds", "not-the-token"))
        {
            await AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "admin credential refused: the token does not match the server's admin token");
        }

        // Live updates: the stream says hello, then delivers the round the button starts.
        using var stream = await http.GetAsync("api/events/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.Equal("event: hello", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        using (var started = await PostAsync(http, "api/runs/current/rounds", Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal("{\"round\":1}", await started.Content.ReadAsStringAsync());
        }

        string? roundData = null;
        while (roundData is null)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            if (line == "event: round")
            {
                roundData = (await reader.ReadLineAsync())!["data: ".Length..];
            }
        }

        using (var round = JsonDocument.Parse(roundData))
        {
            Assert.Equal(1, round.RootElement.GetProperty("round").GetInt32());
            Assert.Equal(1, round.RootElement.GetProperty("results").GetInt32());
            Assert.True(round.RootElement.GetProperty("evaluate").GetProperty("accuracy").GetDouble() is > 0 and <= 1);
        }

        await server.WaitForLineAsync("round 1:");
        string runId;
        using (var runs = await GetJsonAsync(http, "api/runs"))
        {
            var run = Assert.Single(runs.RootElement.EnumerateArray());
            runId = run.GetProperty("id").GetString()!;
            Assert.Equal("running", run.GetProperty("status").GetString());
            Assert.True(run.GetProperty("current").GetBoolean());
            Assert.Equal(1, run.GetProperty("rounds_done").GetInt32());
            Assert.Equal(5, run.GetProperty("rounds_limit").GetInt32());
        }

        using (var current = await GetJsonAsync(http, "api/runs/current"))
        {
            Assert.Equal(runId, current.RootElement.GetProperty("id").GetString());
            var round = Assert.Single(current.RootElement.GetProperty("rounds").EnumerateArray());
            Assert.True(round.GetProperty("train").GetProperty("loss").GetDouble() > 0);
            Assert.Equal(0, round.GetProperty("failures").GetArrayLength());
            Assert.Equal("iris", current.RootElement.GetProperty("config").GetProperty("dataset").GetString());
        }

        using (var unknown = await http.GetAsync("api/runs/nope"))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "no run with id 'nope'; GET /api/runs lists the runs");
        }

        using (var badLimit = await http.GetAsync("api/events?limit=0"))
        {
            await AssertProblemAsync(badLimit, HttpStatusCode.BadRequest, "limit must be in [1, 10000], got 0");
        }

        using (var nodes = await GetJsonAsync(http, "api/nodes"))
        {
            var node = Assert.Single(nodes.RootElement.EnumerateArray());
            Assert.Equal(1, node.GetProperty("id").GetInt64());
            Assert.Equal("c1", node.GetProperty("name").GetString());
            Assert.Equal("idle", node.GetProperty("status").GetString());
            Assert.Equal(1, node.GetProperty("rounds_done").GetInt32());
            Assert.True(node.GetProperty("bytes_in").GetInt64() > 0);
            Assert.True(node.GetProperty("bytes_out").GetInt64() > 0);
            Assert.Equal(JsonValueKind.Null, node.GetProperty("last_error").ValueKind);
            Assert.Equal(JsonValueKind.String, node.GetProperty("last_heartbeat").ValueKind);
        }

        // The current global model: safetensors, and .npz whose entries are numpy .npy files of the same tensors.
        var model = Safetensors.Read(await http.GetStreamAsync("api/model"), out var metadata);
        Assert.Equal("1", metadata["round"]);
        Assert.Equal("logistic", metadata["model"]);
        var npz = new MemoryStream(await http.GetByteArrayAsync("api/model.npz"));
        using (var zip = new ZipArchive(npz, ZipArchiveMode.Read))
        {
            Assert.Equal(model.Names.Select(n => n + ".npy"), zip.Entries.Select(e => e.FullName));
            foreach (var name in model.Names)
            {
                using var entry = zip.GetEntry(name + ".npy")!.Open();
                var bytes = new MemoryStream();
                await entry.CopyToAsync(bytes);
                var header = Npy.Header(model[name].DType, model[name].Shape);
                Assert.Equal(header, bytes.ToArray()[..header.Length]);
                Assert.Equal(model[name].AsBytes().ToArray(), bytes.ToArray()[header.Length..]);
            }
        }

        using (var openApi = await GetJsonAsync(http, "openapi/v1.json"))
        {
            var paths = openApi.RootElement.GetProperty("paths");
            foreach (var path in (string[])["/api/runs", "/api/runs/{id}", "/api/runs/{id}/rounds", "/api/runs/{id}/stop", "/api/reset", "/api/nodes", "/api/model", "/api/model.npz", "/api/events", "/api/events/stream", "/api/privacy"])
            {
                Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
            }

            Assert.False(paths.TryGetProperty("/api/demo/generate", out _)); // demo actions exist only with --demo
        }

        using (var weights = await PostOrGetAsync(http, HttpMethod.Get, "api/nodes/1/weights", Token))
        {
            await AssertProblemAsync(weights, HttpStatusCode.Conflict, "the server does not keep client weights; start it with --keep-client-weights (memory grows with clients x model)");
        }

        // Stop: the run ends before its next round as operator_stop; the server keeps serving until Ctrl+C.
        using (var stop = await PostAsync(http, "api/runs/current/stop", Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        }

        await server.WaitForLineAsync("run ended; the inspector stays up");
        using (var late = await PostAsync(http, "api/runs/current/rounds", Token))
        {
            await AssertProblemAsync(late, HttpStatusCode.Conflict, "no run is in progress (the last one has ended); reset to start a new run");
        }

        using (var finished = await GetJsonAsync(http, "api/runs/current"))
        {
            Assert.Equal("finished", finished.RootElement.GetProperty("status").GetString());
            Assert.Equal(StopReasons.OperatorStop, finished.RootElement.GetProperty("stop_reason").GetString());
            Assert.Equal("stopped by admin through the inspector", finished.RootElement.GetProperty("stop_detail").GetString());
        }

        using (var stored = await GetJsonAsync(http, "api/events/stored"))
        {
            Assert.Contains(stored.RootElement.EnumerateArray(), e => e.GetProperty("kind").GetString() == "operator_stop" && e.GetProperty("run_id").GetString() == runId);
        }

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(StopReasons.OperatorStop, history.StopReason);
        Assert.Single(history.Rounds);
        server.Interrupt();
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());
    }

    [Fact]
    public async Task Api_Reset_StartsNewRunAndTellsClients()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], Iris("--manual", "--admin-token", Token, "--min-clients", "1", "--rounds", "3")));
        var url = await Args.InspectorUrlAsync(server);
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, Iris()));
        await server.WaitForLineAsync("joined");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        (await PostAsync(http, "api/runs/current/rounds", Token)).Dispose();
        await server.WaitForLineAsync("round 1:");

        using (var reset = await PostAsync(http, "api/reset", Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, reset.StatusCode);
        }

        await server.WaitForLineAsync("reset: starting run ");
        await client.WaitForLineAsync("notification RUN_RESET");

        // The inspector sees a run start before clients are told (TRAINING_START), so the new run is listed once the
        // client has a TRAINING_START after the RUN_RESET.
        await client.WaitForLineAsync(
            _ => client.Output.Split('\n').SkipWhile(x => !x.Contains("notification RUN_RESET", StringComparison.Ordinal)).Any(x => x.Contains("notification TRAINING_START", StringComparison.Ordinal)),
            "TRAINING_START after RUN_RESET");
        using (var runs = await GetJsonAsync(http, "api/runs"))
        {
            var list = runs.RootElement.EnumerateArray().Where(r => r.GetProperty("source").GetString() == "live").ToList();
            Assert.Equal(2, list.Count);
            Assert.True(list[0].GetProperty("current").GetBoolean());
            Assert.Equal("running", list[0].GetProperty("status").GetString());
            Assert.Equal(0, list[0].GetProperty("rounds_done").GetInt32());
            Assert.Equal(StopReasons.OperatorStop, list[1].GetProperty("stop_reason").GetString());
            Assert.Equal("reset by admin through the inspector", list[1].GetProperty("stop_detail").GetString());
            Assert.Equal(1, list[1].GetProperty("rounds_done").GetInt32());
        }

        // The new run starts at round 1 with a fresh model.
        (await PostAsync(http, "api/runs/current/rounds", Token)).Dispose();
        await server.WaitForLineAsync(l => l.Contains("round 1:", StringComparison.Ordinal) && server.Output.Split('\n').Count(x => x.Contains("round 1:", StringComparison.Ordinal)) == 2, "a second 'round 1:'");

        // Ctrl+C while the new run waits for its next round interrupts it (resumable, exit code 1).
        server.Interrupt();
        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Contains("stopped by the operator before round 2", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_KeepClientWeights_AdminDownloadsTheClientsUpdate()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], Iris("--manual", "--admin-token", Token, "--keep-client-weights", "--min-clients", "1", "--rounds", "2")));
        var url = await Args.InspectorUrlAsync(server);
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port, Iris()));
        await server.WaitForLineAsync("joined");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        using (var before = await PostOrGetAsync(http, HttpMethod.Get, "api/nodes/1/weights", Token))
        {
            await AssertProblemAsync(before, HttpStatusCode.NotFound, "node 1 has not sent a train update in this run yet");
        }

        (await PostAsync(http, "api/runs/current/rounds", Token)).Dispose();
        await server.WaitForLineAsync("round 1:");
        using (var anonymous = await http.GetAsync("api/nodes/1/weights"))
        {
            await AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, "no admin credential: send 'Authorization: Bearer TOKEN' with the server's admin token");
        }

        using var response = await PostOrGetAsync(http, HttpMethod.Get, "api/nodes/1/weights", Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var update = Safetensors.Read(await response.Content.ReadAsStreamAsync(), out var metadata);
        Assert.Equal("1", metadata["node_id"]);
        Assert.Equal("1", metadata["round"]);

        // With one client, FedAvg's global model is that client's update.
        var global = Safetensors.Read(await http.GetStreamAsync("api/model"), out _);
        Assert.Equal(global.Names, update.Names);
        foreach (var name in global.Names)
        {
            var g = global[name].AsSpan<float>().ToArray();
            var u = update[name].AsSpan<float>().ToArray();
            Assert.Equal(g.Length, u.Length);
            Assert.All(g.Zip(u), p => Assert.Equal(p.First, p.Second, 1e-5f)); // up to the rounding of sum / weight
            Assert.Contains(u, v => v != 0);
        }

        using (var missing = await PostOrGetAsync(http, HttpMethod.Get, "api/nodes/99/weights", Token))
        {
            await AssertProblemAsync(missing, HttpStatusCode.NotFound, "no node with id 99; GET /api/nodes lists them");
        }
    }

    [Fact]
    public async Task Api_InsecureServerWithoutToken_ActionsOpenWithWarningAndDemoRoutesAbsent()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], Iris("--manual", "--min-clients", "1")));
        var url = await Args.InspectorUrlAsync(server);
        await server.WaitForLineAsync("admin actions (start, stop, reset, next round) are open to anyone who can reach the inspector port");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        using (var status = await GetJsonAsync(http, "api/status"))
        {
            Assert.False(status.RootElement.GetProperty("admin_required").GetBoolean());
        }

        using (var start = await http.PostAsync("api/runs", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        }

        using (var again = await http.PostAsync("api/runs", null))
        {
            await AssertProblemAsync(again, HttpStatusCode.Conflict, "the run is already running");
        }

        using (var demo = await http.GetAsync("api/demo/data"))
        {
            Assert.Equal(HttpStatusCode.NotFound, demo.StatusCode);
            Assert.Equal("application/problem+json", demo.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Api_PrivacyRun_LedgerMatchesHistoryAndBudget()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        string[] dp = ["--dataset", "breast-cancer", "--model", "logistic", "--local-epochs", "1", "--dp-sgd", "--noise-multiplier", "1.0", "--max-grad-norm", "1.0"];
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], [.. dp, "--manual", "--min-clients", "2", "--rounds", "30", "--target-epsilon", "8"]));
        var url = await Args.InspectorUrlAsync(server);
        await using var c0 = FederateProcess.Start("c0", log, Args.ClientArgs(port, [.. dp, "--dataset-id", "0", "--num-partitions", "2"]));
        await using var c1 = FederateProcess.Start("c1", log, Args.ClientArgs(port, [.. dp, "--dataset-id", "1", "--num-partitions", "2"]));
        await server.WaitForLineAsync("(2 connected)");
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        using (var start = await http.PostAsync("api/runs", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        }

        await server.WaitForLineAsync("run ended; the inspector stays up");
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(StopReasons.PrivacyBudget, history.StopReason);
        using var privacy = await GetJsonAsync(http, "api/privacy");
        Assert.True(privacy.RootElement.GetProperty("enabled").GetBoolean());
        Assert.Equal(8, privacy.RootElement.GetProperty("budget").GetDouble());
        var rounds = privacy.RootElement.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal(history.Rounds.Count, rounds.Count);
        var last = rounds[^1];
        Assert.Equal(history.Rounds[^1].Round, last.GetProperty("round").GetInt32());
        Assert.Equal(history.Rounds[^1].Train["cumulative_sample_epsilon"], last.GetProperty("cumulative_sample_epsilon").GetDouble());
        Assert.True(last.GetProperty("cumulative_sample_epsilon").GetDouble() <= 8);
        Assert.Equal(1e-5, last.GetProperty("delta").GetDouble());
        server.Interrupt();
        Assert.Equal(0, await server.WaitForExitAsync());
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string token) => PostOrGetAsync(http, HttpMethod.Post, path, token);

    private static Task<HttpResponseMessage> PostOrGetAsync(HttpClient http, HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(detail, problem.RootElement.GetProperty("detail").GetString());
    }
}
