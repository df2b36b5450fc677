using System.Globalization;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Federate.IntegrationTests;

/// <summary>
/// A fuzzer sends more than 10,000 hostile fleet messages at a running TLS server with kits (random bytes, mutated
/// and truncated valid messages, oversized messages, corrupt chunk streams, and an enrolled node answering every
/// task with a corrupt update) while two enrolled sites train: the server neither crashes nor hangs, its memory
/// stays bounded, and the run finishes with every round.
/// </summary>
[Collection(nameof(FuzzTests))]
public sealed class FuzzTests(ITestOutputHelper log)
{
    private const int Target = 10_000;
    private const int Rounds = 4;
    private const long PeakBoundBytes = 512L << 20;
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);
    private static readonly string[] UnaryMethods = ["Hello", "Register", "Heartbeat", "Quit"];

    private readonly string[] _doing = new string[4];
    private long _sent;
    private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _exhausted;

    [Fact]
    public async Task Fuzz_TenThousandHostileMessages_ServerSurvivesWithBoundedMemoryAndRunFinishes()
    {
        using var dir = new TempDir();
        var kits = dir["kits"];
        await SecureFleet.ProvisionAsync(log, "--name", "fuzzing", "--server", "127.0.0.1", "--clients", "site-a,site-b,fuzz", "--out", kits);
        int port = FederateProcess.FreePort();
        var serverArgs = SecureFleet.ServerArgs(port, Path.Combine(kits, "server"), dir["out"],
            "--dataset", "digits", "--model", "logistic", "--min-clients", "3", "--rounds", Rounds.ToString(CultureInfo.InvariantCulture), "--seed", "2", "--round-timeout", "60");
        serverArgs[Array.IndexOf(serverArgs, "--node-expiry") + 1] = "20"; // the machine is busy with the flood: no spurious expiry
        await using var server = FederateProcess.Start("server", log, serverArgs);
        await server.WaitForLineAsync("listening on");
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!server.HasExited && !stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, ReadPeak(server.Id));
                await Task.Delay(100);
            }
        });

        var ca = Path.Combine(kits, "server", "ca.pem");
        using var hostile = SecureFleet.Channel(port, ca, "127.0.0.2");
        using var member = SecureFleet.Channel(port, ca, "127.0.0.3");
        string fuzzToken = "";
        long fuzzNode = 1;

        // Garbage from 4 workers until the server exits.
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => FuzzLoopAsync(hostile, w, () => fuzzToken, () => fuzzNode, server, stop.Token))).ToArray();
        await WaitForAsync(_halfSent.Task, TimeSpan.FromSeconds(90), "half the fuzz messages");

        // The enrolled sites join while the flood goes on.
        string[] Data(int id) => ["--dataset", "digits", "--model", "logistic", "--dataset-id", id.ToString(CultureInfo.InvariantCulture), "--num-partitions", "2", "--seed", "2"];
        await using var a = FederateProcess.Start("site-a", log, SecureFleet.ClientArgs(port, Path.Combine(kits, "site-a"), Data(0)));
        await using var b = FederateProcess.Start("site-b", log, SecureFleet.ClientArgs(port, Path.Combine(kits, "site-b"), Data(1)));
        await WaitForAsync(_allSent.Task, TimeSpan.FromSeconds(120), $"{Target} fuzz messages");
        // The third node the server waits for: enrolled, heartbeating, and answering every task with a corrupt update.
        var (_, fuzzReply) = await SecureFleet.RegisterAsync(new Fleet.FleetClient(member), Path.Combine(kits, "fuzz"));
        fuzzToken = fuzzReply.SessionToken;
        fuzzNode = fuzzReply.NodeId;
        var corrupt = Task.Run(() => CorruptNodeAsync(member, fuzzReply, Path.Combine(kits, "fuzz"), t => fuzzToken = t, server, stop.Token));

        int serverExit = await server.WaitForExitAsync(TimeSpan.FromSeconds(150));
        await stop.CancelAsync();
        Assert.Equal(0, serverExit);
        // The fuzzer's own calls end with the server's connections (or their deadlines, or disposing the channels).
        await Task.WhenAny(Task.WhenAll([.. workers, corrupt]), Task.Delay(TimeSpan.FromSeconds(20)));
        for (int w = 0; w < workers.Length; w++)
        {
            if (!workers[w].IsCompleted)
            {
                log.WriteLine($"fuzz worker {w} still in a call after the server exited: {_doing[w]}");
            }
        }

        await watch;
        Assert.Equal(0, await a.WaitForExitAsync());
        Assert.Equal(0, await b.WaitForExitAsync());

        var history = HistoryJson.Parse(File.ReadAllText(Path.Combine(dir["out"], "history.json")));
        Assert.Equal(Rounds, history.Rounds.Count);
        Assert.All(history.Rounds, r => Assert.Equal(2, r.Results));
        Assert.All(history.Rounds, r => Assert.Contains(r.Failures, f => f.Code == "invalid_update"));
        Assert.Contains("registration rate limit reached for ipv4:127.0.0.2", server.Output, StringComparison.Ordinal);
        Assert.True(Interlocked.Read(ref _exhausted) > 0, "the registration rate limit never answered");
        log.WriteLine($"fuzz: {_sent} hostile messages sent ({_exhausted} refused by the registration rate limit); server peak memory (VmHWM) {peak / (1 << 20)} MiB");
        Assert.InRange(peak, 1, PeakBoundBytes);
        Assert.True(Interlocked.Read(ref _sent) >= Target);
    }

    private static async Task WaitForAsync(Task reached, TimeSpan timeout, string what)
    {
        try
        {
            await reached.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}");
        }
    }

    private static long ReadPeak(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private async Task FuzzLoopAsync(GrpcChannel channel, int worker, Func<string> token, Func<long> node, FederateProcess server, CancellationToken stop)
    {
        var random = new Random(1000 + worker);
        var invoker = channel.CreateCallInvoker();
        var oversized = new byte[FleetProtocol.MaxMessageSize + 4096];
        random.NextBytes(oversized);
        int i = 0;
        while (!server.HasExited && !stop.IsCancellationRequested)
        {
            i++;
            long nodeId = node();
            // Session calls (heartbeat, quit, pull) go out with no token or a forged one: with the enrolled fuzz node's real
            // token a heartbeat would renew, and so supersede, its token. Updates carry the real token half the time.
            var forged = new CallOptions(random.Next(2) == 0 ? new Metadata() : SecureFleet.Token(Forge(random, token())), DateTime.UtcNow.AddSeconds(10), stop);
            var real = new CallOptions(random.Next(2) == 0 && token() is { Length: > 0 } t ? SecureFleet.Token(t) : new Metadata(), DateTime.UtcNow.AddSeconds(10), stop);
            var options = forged;
            try
            {
                int kind = random.Next(10);
                _doing[worker] = $"case {kind}, message {i}";
                switch (kind)
                {
                    case 0 or 1 or 2:
                    {
                        var method = UnaryMethods[random.Next(UnaryMethods.Length)];
                        var payload = i % 997 == 0 ? oversized : Mutate(random, ValidUnary(random, method, nodeId));
                        Count();
                        await invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, "federate.fleet.v1.Fleet", method, Raw, Raw), null, options, payload);
                        break;
                    }

                    case 3 or 4:
                    {
                        var method = UnaryMethods[random.Next(UnaryMethods.Length)];
                        Count();
                        await invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, "federate.fleet.v1.Fleet", method, Raw, Raw), null, options, RandomBytes(random, random.Next(0, 600)));
                        break;
                    }

                    case 5:
                    {
                        var request = new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = random.Next(3) == 0 ? nodeId + 1 + random.Next(50) : random.NextInt64(), WaitMs = 50 }.ToByteArray();
                        Count();
                        using var call = invoker.AsyncServerStreamingCall(new Method<byte[], byte[]>(MethodType.ServerStreaming, "federate.fleet.v1.Fleet", "PullTask", Raw, Raw), null, options, Mutate(random, request));
                        while (await call.ResponseStream.MoveNext(stop))
                        {
                        }

                        break;
                    }

                    case 6:
                    {
                        Count();
                        await invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, "federate.fleet.v1.Fleet", "NoSuchCall", Raw, Raw), null, options, RandomBytes(random, 40));
                        break;
                    }

                    case 7 when random.Next(2) == 0:
                    {
                        // SubmitAndPull: the same update frames, then whatever the server answers on the way back.
                        using var call = invoker.AsyncDuplexStreamingCall(new Method<byte[], byte[]>(MethodType.DuplexStreaming, "federate.fleet.v1.Fleet", "SubmitAndPull", Raw, Raw), null, real);
                        int frames = random.Next(1, 6);
                        for (int f = 0; f < frames; f++)
                        {
                            byte[] frame = f == 0 && random.Next(2) == 0
                                ? new UpdateFrame { Header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = new MessageHeader { ReplyTo = "task-" + random.Next(100) }, Pull = new PullTaskRequest { NodeId = random.NextInt64(), WaitMs = 50 } } }.ToByteArray()
                                : i % 499 == 0 ? oversized : Mutate(random, RandomChunkFrame(random));
                            Count();
                            await call.RequestStream.WriteAsync(frame);
                        }

                        if (random.Next(4) != 0)
                        {
                            await call.RequestStream.CompleteAsync();
                        }

                        while (await call.ResponseStream.MoveNext(stop))
                        {
                        }

                        break;
                    }

                    default:
                    {
                        using var call = invoker.AsyncClientStreamingCall(new Method<byte[], byte[]>(MethodType.ClientStreaming, "federate.fleet.v1.Fleet", "SubmitUpdate", Raw, Raw), null, real);
                        int frames = random.Next(1, 6);
                        for (int f = 0; f < frames; f++)
                        {
                            byte[] frame = f == 0 && random.Next(2) == 0
                                ? new UpdateFrame { Header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = nodeId, Metadata = new MessageHeader { ReplyTo = "task-" + random.Next(100) } } }.ToByteArray()
                                : i % 499 == 0 ? oversized : Mutate(random, RandomChunkFrame(random));
                            Count();
                            await call.RequestStream.WriteAsync(frame);
                        }

                        if (random.Next(4) != 0)
                        {
                            await call.RequestStream.CompleteAsync();
                        }

                        await call.ResponseAsync;
                        break;
                    }
                }
            }
            catch (RpcException ex)
            {
                if (ex.StatusCode == StatusCode.ResourceExhausted && ex.Status.Detail.StartsWith("too many registration attempts", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _exhausted);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
            {
                // The server cut the stream (a refusal too), or the test is stopping.
            }
        }
    }

    private void Count()
    {
        long sent = Interlocked.Increment(ref _sent);
        if (sent >= Target / 2)
        {
            _halfSent.TrySetResult();
        }

        if (sent >= Target)
        {
            _allSent.TrySetResult();
        }
    }

    /// <summary>The real token with one character changed, or random text.</summary>
    private static string Forge(Random random, string token)
    {
        if (token.Length == 0 || random.Next(3) == 0)
        {
            return Convert.ToBase64String(RandomBytes(random, random.Next(1, 300)));
        }

        var chars = token.ToCharArray();
        int at = random.Next(chars.Length);
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    private static byte[] ValidUnary(Random random, string method, long nodeId) => method switch
    {
        "Hello" => new HelloRequest { ProtocolVersion = FleetProtocol.Version, ClientNonce = ByteString.CopyFrom(RandomBytes(random, random.Next(2) == 0 ? 32 : random.Next(100))) }.ToByteArray(),
        "Register" => new RegisterRequest { ProtocolVersion = FleetProtocol.Version, Name = "x", ServerNonce = ByteString.CopyFrom(RandomBytes(random, 32)), ClientCertificate = ByteString.CopyFrom(RandomBytes(random, random.Next(2000))), ClientCn = "site-a", Signature = ByteString.CopyFrom(RandomBytes(random, 256)) }.ToByteArray(),
        "Heartbeat" => new HeartbeatRequest { NodeId = random.Next(2) == 0 ? nodeId + 1 + random.Next(50) : random.NextInt64() }.ToByteArray(),
        _ => new QuitRequest { NodeId = random.NextInt64(), Reason = "fuzz" }.ToByteArray(),
    };

    private static byte[] RandomChunkFrame(Random random) => new UpdateFrame
    {
        Chunk = new TensorChunk
        {
            TensorIndex = (uint)random.Next(-1, 4),
            Offset = (ulong)random.NextInt64(),
            Data = ByteString.CopyFrom(RandomBytes(random, random.Next(0, 5000))),
            Sha256 = ByteString.CopyFrom(RandomBytes(random, 32)),
            Nonce = ByteString.CopyFrom(RandomBytes(random, 12)),
            Tag = ByteString.CopyFrom(RandomBytes(random, 16)),
        },
    }.ToByteArray();

    private static byte[] RandomBytes(Random random, int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }

    /// <summary>Flips bytes, truncates, or inserts garbage; sometimes leaves the message valid.</summary>
    private static byte[] Mutate(Random random, byte[] message)
    {
        switch (random.Next(5))
        {
            case 0:
                return message;
            case 1:
                return message.Length == 0 ? message : message[..random.Next(message.Length)];
            case 2:
            {
                var copy = (byte[])message.Clone();
                for (int k = 0; k < 1 + random.Next(8) && copy.Length > 0; k++)
                {
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                }

                return copy;
            }

            case 3:
            {
                int at = random.Next(message.Length + 1);
                return [.. message[..at], .. RandomBytes(random, random.Next(1, 64)), .. message[at..]];
            }

            default:
            {
                // A huge varint length prefix claiming a field far beyond the message.
                return [.. message, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
            }
        }
    }

    /// <summary>An enrolled node that heartbeats and answers every task with a differently corrupted update.</summary>
    private async Task CorruptNodeAsync(GrpcChannel channel, RegisterReply registration, string kitDir, Action<string> setToken, FederateProcess server, CancellationToken stop)
    {
        var fleet = new Fleet.FleetClient(channel);
        string token = registration.SessionToken;
        long node = registration.NodeId;
        using var kit = StartupKit.Load(kitDir);
        using var identity = new ClientIdentity(kit);
        var cipher = new PayloadCipher(identity.UnwrapPayloadKey(registration.WrappedPayloadKey.ToByteArray()), node); // signature checked in SecurityTests
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var heartbeat = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested && !server.HasExited)
            {
                try
                {
                    var reply = await fleet.HeartbeatAsync(new HeartbeatRequest { NodeId = node }, SecureFleet.Token(token), DateTime.UtcNow.AddSeconds(5), done.Token);
                    token = reply.SessionToken;
                    setToken(token);
                }
                catch (RpcException)
                {
                }

                try
                {
                    await Task.Delay(300, done.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        int variant = 0;
        try
        {
            while (!server.HasExited && !stop.IsCancellationRequested)
            {
                TaskHeader? header = null;
                try
                {
                    using var pull = fleet.PullTask(new PullTaskRequest { ProtocolVersion = FleetProtocol.Version, NodeId = node, WaitMs = 1000 }, SecureFleet.Token(token), DateTime.UtcNow.AddSeconds(30), stop);
                    while (await pull.ResponseStream.MoveNext(stop))
                    {
                        if (pull.ResponseStream.Current.FrameCase == TaskFrame.FrameOneofCase.Task)
                        {
                            header = pull.ResponseStream.Current.Task;
                        }
                        else if (pull.ResponseStream.Current.FrameCase == TaskFrame.FrameOneofCase.Finished)
                        {
                            return;
                        }
                    }
                }
                catch (Exception ex) when (ex is RpcException or OperationCanceledException)
                {
                    continue;
                }

                if (header is null)
                {
                    continue;
                }

                try
                {
                    await SubmitCorruptAsync(fleet, header, node, token, cipher, variant++, stop);
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument)
                {
                    log.WriteLine($"corrupt update {variant} refused: {ex.Status.Detail}");
                }
                catch (Exception ex) when (ex is RpcException or OperationCanceledException or InvalidOperationException or IOException)
                {
                }
            }
        }
        finally
        {
            await done.CancelAsync();
            await heartbeat;
        }
    }

    private async Task SubmitCorruptAsync(Fleet.FleetClient fleet, TaskHeader task, long node, string token, PayloadCipher cipher, int variant, CancellationToken stop)
    {
        var header = new UpdateHeader { ProtocolVersion = FleetProtocol.Version, NodeId = node, Metadata = task.Metadata.Clone() };
        header.Metadata.ReplyTo = task.Metadata.MessageId;
        header.Tensors.Add(task.Tensors);
        header.Metrics.Add(new NamedMetricRecord { Name = "metrics", Entries = { new MetricEntry { Key = "num_examples", Value = 10 } } });
        if (variant % 6 == 0 && header.Tensors.Count > 0)
        {
            header.Tensors[0].Shape.Add(7); // wrong shape
        }

        using var call = fleet.SubmitUpdate(SecureFleet.Token(token), DateTime.UtcNow.AddSeconds(30), stop);
        Count();
        await call.RequestStream.WriteAsync(new UpdateFrame { Header = header });
        if (task.Tensors.Count > 0)
        {
            var layout = task.Tensors[0];
            long elements = layout.Shape.Aggregate(1L, (x, y) => x * y);
            int size = (int)Math.Min(elements * (layout.Dtype == DataType.Float64 ? 8 : 4), 4096);
            var plain = new byte[size];
            if (variant % 6 == 1)
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(plain.AsSpan())[0] = float.NaN;
            }

            var chunk = new TensorChunk { TensorIndex = 0, Offset = 0, Sha256 = ByteString.CopyFrom(System.Security.Cryptography.SHA256.HashData(plain)) };
            var (ciphertext, nonce, tag) = cipher.Encrypt(plain, PayloadDirection.ToServer, 0, variant % 6 == 2 ? 8UL : 0UL);
            chunk.Data = variant % 6 == 3 ? ByteString.CopyFrom(plain) : ByteString.CopyFrom(ciphertext);
            chunk.Nonce = ByteString.CopyFrom(nonce);
            chunk.Tag = variant % 6 == 4 ? ByteString.CopyFrom(new byte[16]) : ByteString.CopyFrom(tag);
            if (variant % 6 == 5)
            {
                chunk.Sha256 = ByteString.CopyFrom(new byte[32]);
            }

            Count();
            await call.RequestStream.WriteAsync(new UpdateFrame { Chunk = chunk });
        }

        await call.RequestStream.CompleteAsync();
        await call.ResponseAsync;
    }
}

/// <summary>The fuzz test loads both cores: it runs alone, after the tests that run in parallel.</summary>
[CollectionDefinition(nameof(FuzzTests), DisableParallelization = true)]
public sealed class FuzzTestsCollection;
