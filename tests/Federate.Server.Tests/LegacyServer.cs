using System.Net;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Tests;

/// <summary>
/// A fleet server from before SubmitAndPull (protocol v1 as first published): Register, Heartbeat, PullTask,
/// SubmitUpdate, Quit; two train tasks without tensors, then the run's end. SubmitAndPull is left to the generated
/// base class, which answers Unimplemented as a server without the method does; a middleware counts the attempts.
/// </summary>
internal sealed class LegacyServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LegacyServer(WebApplication app, LegacyService service, int port)
    {
        _app = app;
        Service = service;
        Port = port;
    }

    public LegacyService Service { get; }

    public int Port { get; }

    public static async Task<LegacyServer> StartAsync()
    {
        var service = new LegacyService();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.Value?.EndsWith("/SubmitAndPull", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref service.SubmitAndPullCalls);
            }

            await next(context);
        });
        app.MapGrpcService<LegacyService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new LegacyServer(app, service, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class LegacyService : Fleet.FleetBase
    {
        private readonly object _gate = new();
        private int _sent;

        public int SubmitAndPullCalls;

        public int SubmitAndPullAttempts => Volatile.Read(ref SubmitAndPullCalls);

        public List<string> Replies { get; } = [];

        public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context) => Task.FromResult(new RegisterReply
        {
            ProtocolVersion = FleetProtocol.Version,
            NodeId = 1,
            RunId = "legacy",
            HeartbeatIntervalMs = 1000,
            NodeExpiryMs = 30_000,
            MaxChunkSize = FleetProtocol.MaxChunkSize,
        });

        public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) => Task.FromResult(new HeartbeatReply { RunId = "legacy" });

        public override async Task PullTask(PullTaskRequest request, IServerStreamWriter<TaskFrame> responseStream, ServerCallContext context)
        {
            int round;
            lock (_gate)
            {
                // One task at a time: the next only once the last was answered.
                if (_sent > Replies.Count)
                {
                    return;
                }

                round = ++_sent;
            }

            if (round > 2)
            {
                await responseStream.WriteAsync(new TaskFrame { Finished = new RunFinished { StopReason = "rounds" } });
                return;
            }

            var metadata = new MessageHeader { RunId = "legacy", Round = round, Kind = MessageKind.Train, DestinationNodeId = 1, MessageId = $"task-{round}" };
            await responseStream.WriteAsync(new TaskFrame { Task = new TaskHeader { Metadata = metadata, ChunkSize = 1024 } });
        }

        public override async Task<SubmitReply> SubmitUpdate(IAsyncStreamReader<UpdateFrame> requestStream, ServerCallContext context)
        {
            Assert.True(await requestStream.MoveNext(context.CancellationToken));
            string replyTo = requestStream.Current.Header.Metadata.ReplyTo;
            while (await requestStream.MoveNext(context.CancellationToken))
            {
            }

            lock (_gate)
            {
                Replies.Add(replyTo);
            }

            return new SubmitReply { Accepted = true };
        }

        public override Task<QuitReply> Quit(QuitRequest request, ServerCallContext context) => Task.FromResult(new QuitReply());
    }
}
