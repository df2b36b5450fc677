using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Federate.Core;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>Lifecycle notifications: webhooks from a real server, and <c>federate client --notify-listen</c>.</summary>
public sealed class NotificationTests(ITestOutputHelper log)
{
    [Fact]
    public async Task Webhook_TwoRoundRun_ReceivesFourEventTypesInOrder()
    {
        using var dir = new TempDir();
        int hookPort = FederateProcess.FreePort();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{hookPort}/");
        receiver.Start();
        var received = new List<LifecycleNotification>();
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = Task.Run(async () =>
        {
            while (!finished.Task.IsCompleted)
            {
                var ctx = await receiver.GetContextAsync();
                using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
                var n = LifecycleNotification.Parse(await reader.ReadToEndAsync());
                Assert.Equal("application/json", ctx.Request.ContentType?.Split(';')[0]);
                lock (received)
                {
                    received.Add(n);
                }

                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
                if (n.NotificationType == NotificationTypes.TrainingFinished)
                {
                    finished.TrySetResult();
                }
            }
        });

        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--min-clients", "1", "--rounds", "2", "--webhook", $"http://127.0.0.1:{hookPort}/hook"));
        await using var client = FederateProcess.Start("client", log, Args.ClientArgs(port));
        await finished.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());

        var types = received.Select(n => n.NotificationType + (n.Round is { } r ? $":{r}" : "")).ToList();
        Assert.Equal(["TRAINING_START", "UPDATE_ROUND_START:1", "MODEL_TEST_ROUND:1", "UPDATE_ROUND_START:2", "MODEL_TEST_ROUND:2", "TRAINING_FINISHED"], types);
        Assert.Single(received.Select(n => n.TrainingUuid).Distinct());
        var models = received.Select(n => n.GlobalModelUuid).ToList();
        Assert.All(models, m => Assert.True(Guid.TryParse(m, out _)));
        Assert.Equal(models[0], models[1]);    // round 1 trains the initial model
        Assert.NotEqual(models[1], models[2]); // round 1's aggregate is a new version
        Assert.Equal(models[2], models[3]);    // round 2 trains it
        Assert.Equal(models[4], models[5]);    // the final model is round 2's aggregate

        // The client saw the same events in its task stream.
        Assert.Contains("notification TRAINING_FINISHED", client.Output, StringComparison.Ordinal);
        Assert.Contains("notification UPDATE_ROUND_START", client.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotifyListen_DesignFourPosts_AnsweredWithDesignStatuses()
    {
        int port = FederateProcess.FreePort();
        await using var listener = FederateProcess.Start("listener", log, "client", "--notify-listen", $"127.0.0.1:{port}");
        await listener.WaitForLineAsync("listening for notifications");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<int> Post(string json)
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync($"http://127.0.0.1:{port}/", content);
            return (int)response.StatusCode;
        }

        string N(string type, JsonObject body) => new JsonObject { ["notification_type"] = type, ["training_uuid"] = "t-1", ["body"] = body }.ToJsonString();
        Assert.Equal(200, await Post(N("TRAINING_START", new JsonObject { ["global_model_uuid"] = "m0" })));
        Assert.Equal(202, await Post(N("UPDATE_ROUND_START", new JsonObject { ["round"] = 1, ["global_model_uuid"] = "m0" })));
        Assert.Equal(202, await Post(N("MODEL_TEST_ROUND", new JsonObject { ["round"] = 1, ["global_model_uuid"] = "m1" })));
        Assert.Equal(200, await Post(N("TRAINING_FINISHED", new JsonObject { ["global_model_uuid"] = "m1" })));
        Assert.Equal(400, await Post(N("SOMETHING_ELSE", [])));
        Assert.Equal(400, await Post("{not json"));
        await listener.WaitForLineAsync("notification TRAINING_FINISHED training_uuid=t-1");
    }
}
