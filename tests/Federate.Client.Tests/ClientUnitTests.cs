using System.Net;
using System.Net.Sockets;
using System.Text;
using Federate.Client;
using Federate.Core;
using Federate.Learning;

namespace Federate.Client.Tests;

public sealed class NotificationTests
{
    private sealed class ThrowingHandler : NotificationHandler
    {
        public override Task OnTrainingStartAsync(LifecycleNotification notification, CancellationToken cancellationToken) => throw new InvalidOperationException("boom");

        public override Task<int> OnUnknownAsync(LifecycleNotification notification, CancellationToken cancellationToken) => Task.FromResult(299);
    }

    [Fact]
    public void LifecycleNotification_ToJsonAndParse_RoundTrips()
    {
        var n = LifecycleNotification.Create(NotificationTypes.UpdateRoundStart, "run-1", 3, "m-3");
        var json = n.ToJson();
        Assert.Equal("""{"notification_type":"UPDATE_ROUND_START","training_uuid":"run-1","body":{"round":3,"global_model_uuid":"m-3"}}""", json);
        var back = LifecycleNotification.Parse(json);
        Assert.Equal((3, "m-3", "run-1"), (back.Round, back.GlobalModelUuid, back.TrainingUuid));
    }

    [Theory]
    [InlineData(NotificationTypes.TrainingStart, 200)]
    [InlineData(NotificationTypes.UpdateRoundStart, 202)]
    [InlineData(NotificationTypes.ModelTestRound, 202)]
    [InlineData(NotificationTypes.TrainingFinished, 200)]
    [InlineData("CUSTOM", 400)]
    public async Task DispatchAsync_EachType_DesignFourStatus(string type, int status)
    {
        var n = LifecycleNotification.Create(type, "r", 1, "m");
        Assert.Equal(status, await NotificationDispatcher.DispatchAsync(new NotificationHandler(), n, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Listener_HandlerThrowsOrPicksStatus_Answers500OrItsStatus()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var listener = new NotificationListener($"127.0.0.1:{port}", new ThrowingHandler());
        listener.Start();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<int> Post(string type)
        {
            using var content = new StringContent(LifecycleNotification.Create(type, "r", null, "m").ToJson(), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync($"http://127.0.0.1:{port}/", content);
            return (int)response.StatusCode;
        }

        Assert.Equal(500, await Post(NotificationTypes.TrainingStart));
        Assert.Equal(299, await Post("SOMETHING"));
        Assert.Equal(200, await Post(NotificationTypes.TrainingFinished));
        using var get = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
    }
}

public sealed class NoopModelTests
{
    [Fact]
    public void Create_NoopN_TrainAddsStepWithoutTouchingTheInput()
    {
        var model = ModelFactory.Create("noop:1000", 4, 3);
        model.Initialize(7);
        var initial = model.GetParameters();
        Assert.Equal(1000, initial["weights"].Length);
        Assert.Equal(0.007f, initial["weights"].AsSpan<float>()[0]);

        var trainer = ModelFactory.Create("noop:1000", 4, 3);
        trainer.SetParameters(initial);
        var data = new Dataset("d", new float[8], [0, 1], 4, ["a", "b", "c"]);
        var result = trainer.Train(data, new TrainOptions(), CancellationToken.None);
        Assert.Equal(2, result.Examples);
        Assert.Equal(0.007f, initial["weights"].AsSpan<float>()[0]);
        Assert.Equal(0.007f + NoopModel.Step, trainer.GetParameters()["weights"].AsSpan<float>()[0]);
    }

    [Fact]
    public void Create_ThenSetParameters_AllocatesNoSecondCopy()
    {
        const long n = 4_000_000; // 16 MB of parameters
        var received = new ArrayRecord { { "weights", Tensor.Zeros(DType.Float32, n) } };
        long before = GC.GetAllocatedBytesForCurrentThread();
        var model = ModelFactory.Create($"noop:{n}", 4, 3);
        model.SetParameters(received);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A client creates a model for every task and gives it the received one: no model-sized buffer of its own.
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
        Assert.Same(received["weights"], model.GetParameters()["weights"]);

        // Without SetParameters the parameters are zeros, as before.
        var fresh = ModelFactory.Create("noop:10", 4, 3);
        Assert.Equal(new float[10], fresh.GetParameters()["weights"].AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("noop:0")]
    [InlineData("noop:x")]
    [InlineData("noop:999999999999")]
    public void Create_BadNoopCount_ThrowsOneLine(string name) =>
        Assert.Contains("noop:N", Assert.Throws<ArgumentException>(() => ModelFactory.Create(name, 4, 3)).Message, StringComparison.Ordinal);
}
