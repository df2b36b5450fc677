using System.Globalization;
using Federate.Core;
using Federate.Core.Compression;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// <c>--update-compression</c> with real processes: the same model as <c>federate sim</c> with the same codec, in the
/// clear and with kits (TLS and AES-GCM chunks); bytes per round in history.json; mixed fleets with Flower clients;
/// hostile compressed updates refused while an honest client carries on.
/// </summary>
public sealed class CompressionDeploymentTests(ITestOutputHelper log)
{
    private const int Seed = 5;

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static string[] Sim(string outDir, int clients, int rounds, string codec) =>
        ["sim", "--dataset", "digits", "--clients", S(clients), "--fraction", "1", "--partition", "iid", "--seed", S(Seed), "--rounds", S(rounds), "--update-compression", codec, "--out", outDir];

    [Fact]
    public async Task Server_Int8_SameModelAsSimulation_BytesInHistory()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--dataset", "digits", "--min-clients", "3", "--rounds", "3", "--seed", S(Seed), "--update-compression", "int8"));
        await server.WaitForLineAsync("listening on");
        var clients = Enumerable.Range(0, 3).Select(i => FederateProcess.Start($"client{i}", log, Args.ClientArgs(port, "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", "3", "--seed", S(Seed)))).ToList();
        await using var sim = FederateProcess.Start("sim", log, Sim(dir["sim"], 3, 3, "int8"));
        await SecureAggregationDeploymentTests.AllSucceedAsync(clients, server, sim);

        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["sim"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["server"], "model.safetensors")));
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal("int8", history.Config[UpdateCompression.ConfigKey]?.ToString());
        // int8 sends a 4-byte scale per block of 1024 values and a byte per value.
        var codec = UpdateCodec.Parse("int8")!;
        long compressed = Federate.Learning.Models.ModelFactory.Create("mlp", 64, 10).GetParameters().Sum(kv => codec.EncodedLength(kv.Value.Length));
        Assert.All(history.Rounds, r =>
        {
            Assert.Equal(3, r.Results);
            Assert.Equal(3 * compressed, r.Train[UpdateCompression.UpdateBytesMetric]);
            Assert.InRange(r.Train[UpdateCompression.RatioMetric], 0.25, 0.27);
        });
    }

    [Fact]
    public async Task Server_TopKWithKits_SameModelAsSimulation()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "hospitals", "--server", "localhost,127.0.0.1", "--clients", "site-a,site-b", "--out", kits);
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["secure"], "--dataset", "digits", "--min-clients", "2", "--rounds", "2", "--seed", S(Seed), "--update-compression", "topk:0.05"));
        var sites = new[] { "site-a", "site-b" }.Select((site, i) => FederateProcess.Start(site, log, SecureFleet.ClientArgs(port, Path.Combine(kits, site), "--dataset", "digits", "--dataset-id", S(i), "--num-partitions", "2", "--seed", S(Seed)))).ToList();
        await using var sim = FederateProcess.Start("sim", log, Sim(dir["sim"], 2, 2, "topk:0.05"));
        await SecureAggregationDeploymentTests.AllSucceedAsync(sites, server, sim);

        Assert.Equal(File.ReadAllBytes(Path.Combine(dir["sim"], "model.safetensors")), File.ReadAllBytes(Path.Combine(dir["secure"], "model.safetensors")));
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["secure"], "history.json")));
        Assert.All(history.Rounds, r => Assert.InRange(r.Train[UpdateCompression.RatioMetric], 0.05, 0.1));
    }

    [Fact]
    public async Task Server_Int8_MixedWithFlowerClient_FlowerUpdatesTravelUncompressed()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        int flowerPort = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--flower-port", S(flowerPort), "--dataset", "iris", "--model", "logistic", "--min-clients", "2", "--rounds", "3", "--seed", "3", "--update-compression", "int8"));
        await server.WaitForLineAsync("FlowerService/Join");
        var native = FederateProcess.Start("native", log, Args.ClientArgs(port, "--dataset", "iris", "--model", "logistic", "--dataset-id", "0", "--num-partitions", "2", "--seed", "3"));
        var flower = FederateProcess.Start("flower", log, "client", "--protocol", "flower", "--server", $"127.0.0.1:{flowerPort}", "--dataset", "iris", "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2", "--seed", "3");
        await SecureAggregationDeploymentTests.AllSucceedAsync([native, flower], server);

        // logistic on iris: 4x3 weights and 3 biases; the native update is int8, the Flower one float32.
        var codec = UpdateCodec.Parse("int8")!;
        double expected = codec.EncodedLength(12) + codec.EncodedLength(3) + (15 * 4);
        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.All(history.Rounds, r =>
        {
            Assert.Equal(2, r.Results);
            Assert.Empty(r.Failures);
            Assert.Equal(expected, r.Train[UpdateCompression.UpdateBytesMetric]);
        });
    }

    [Fact]
    public async Task Server_HostileCompressedUpdates_RefusedWithClearStatusAndRunFinishes()
    {
        using var dir = new TempDir();
        int port = FederateProcess.FreePort();
        await using var server = FederateProcess.Start("server", log, Args.ServerArgs(port, dir["server"], "--model", "logistic", "--min-clients", "2", "--rounds", "3", "--heartbeat-interval", "1", "--node-expiry", "30", "--update-compression", "int8"));
        await server.WaitForLineAsync("listening on");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var fleet = new Fleet.FleetClient(channel);
        var timeout = TimeSpan.FromSeconds(30);
        var me = await fleet.RegisterAsync(new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "hostile", PartitionId = 0 }, deadline: BadInputTests.Deadline(timeout));
        using var stopHeartbeats = new CancellationTokenSource();
        var heartbeats = BadInputTests.HeartbeatsAsync(fleet, me.NodeId, stopHeartbeats.Token);

        await using var honest = FederateProcess.Start("client", log, Args.ClientArgs(port, "--model", "logistic", "--dataset-id", "1", "--num-partitions", "2"));
        var codec = UpdateCodec.Parse("int8")!;
        var details = new List<(StatusCode Code, string Detail)>();
        string weights = "";
        int trainTasks = 0;
        while (trainTasks < 3)
        {
            var (header, tensors) = await BadInputTests.PullAsync(fleet, me.NodeId, timeout);
            if (header is null)
            {
                continue;
            }

            var meta = header.Metadata;
            if (meta.Kind == MessageKind.Evaluate)
            {
                await BadInputTests.SubmitAsync(fleet, BadInputTests.Header(me.NodeId, meta, 10), [], timeout);
                continue;
            }

            trainTasks++;
            weights = header.Tensors[0].Name;
            var h = BadInputTests.Header(me.NodeId, meta, 10);
            h.Metrics[0].Entries.Add(new MetricEntry { Key = UpdateCompression.CompressedBytesMetric, Value = 1 });
            if (trainTasks == 3)
            {
                var error = BadInputTests.Header(me.NodeId, meta, 10);
                error.Error = new ReplyError { Code = "client_error", Reason = "hostile client gives up" };
                await BadInputTests.SubmitAsync(fleet, error, [], timeout);
                await fleet.QuitAsync(new QuitRequest { NodeId = me.NodeId, Reason = "done" }, deadline: BadInputTests.Deadline(timeout));
                break;
            }

            Tensor[] encoded;
            if (trainTasks == 1)
            {
                // The right layout, but a NaN scale in the first block of the weights.
                encoded = [.. tensors.Select(t => Tensor.FromArray(new byte[codec.EncodedLength(t.Length)], codec.EncodedLength(t.Length)))];
                BitConverter.GetBytes(float.NaN).CopyTo(encoded[0].AsBytes());
            }
            else
            {
                // Marked compressed, but float32 as sent.
                encoded = tensors;
            }

            foreach (var (layout, tensor) in header.Tensors.Zip(encoded))
            {
                var l = layout.Clone();
                l.Dtype = tensor.DType.ToProto();
                l.Shape.Clear();
                l.Shape.AddRange(tensor.Shape);
                h.Tensors.Add(l);
            }

            var refused = await Assert.ThrowsAsync<RpcException>(() => BadInputTests.SubmitAsync(fleet, h, encoded, timeout));
            details.Add((refused.StatusCode, refused.Status.Detail));
        }

        await stopHeartbeats.CancelAsync();
        await heartbeats.WaitAsync(timeout);
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await honest.WaitForExitAsync());

        Assert.Equal(StatusCode.InvalidArgument, details[0].Code);
        Assert.Equal($"the compressed update does not decode: tensor '{weights}' block 0: its scale is NaN", details[0].Detail);
        Assert.Equal(StatusCode.InvalidArgument, details[1].Code);
        Assert.StartsWith($"update does not match the global model: tensor '{weights}' should be UInt8[", details[1].Detail, StringComparison.Ordinal);
        Assert.Contains("(int8), got", details[1].Detail, StringComparison.Ordinal);

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["server"], "history.json")));
        Assert.Equal(3, history.Rounds.Count);
        Assert.All(history.Rounds, r => Assert.Equal(1, r.Results));
        Assert.All(history.Rounds.Take(2), r => Assert.Contains(r.Failures, f => f.Code == "invalid_update"));
        Assert.All(history.Rounds, r => Assert.True(double.IsFinite(r.Evaluate["loss"])));
    }
}
