using Federate.Client.Internal;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Flower;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federate.Client.Flower;

/// <summary>
/// Runs a Federate client app under a Flower server (Flower 1.5 to 1.27 <c>start_server</c>, or Federate's own
/// <c>--flower-port</c>) over Flower's <c>FlowerService/Join</c> stream: answers get_parameters, get_properties, fit
/// and evaluate, one reply per instruction, until <c>reconnect_ins</c>. After <c>reconnect_ins</c> the stream ending
/// with UNAVAILABLE (Flower's server shuts down) is the normal end; any other end is a failure.
/// </summary>
public sealed class FlowerClient : IDisposable
{
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(10);

    private readonly IClientApp _app;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly FlowerService.FlowerServiceClient _client;
    private readonly string _server;
    private ArrayRecord? _template;
    private bool _templateAsked;

    /// <summary>Creates a client for the Flower server at <paramref name="server"/> (HOST:PORT, plain HTTP/2).</summary>
    public FlowerClient(string server, IClientApp app, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(server);
        _app = app ?? throw new ArgumentNullException(nameof(app));
        _logger = logger ?? NullLogger.Instance;
        _server = server;
        var address = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            // Flower sends whole models in one message (up to 2 GiB - 1). Keep-alive pings stay off: Flower's
            // server throws off clients that ping more often than every 5 minutes.
            MaxReceiveMessageSize = FlowerMapping.MaxMessageSize,
            MaxSendMessageSize = null,
        });
        _client = new FlowerService.FlowerServiceClient(_channel);
    }

    /// <summary>Number of instructions answered so far.</summary>
    public int Answered { get; private set; }

    /// <summary>Trains until the server sends <c>reconnect_ins</c>.</summary>
    /// <exception cref="FleetClientException">The stream ended otherwise (one-line reason).</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var call = _client.Join(cancellationToken: cancellationToken);
        bool reconnected = false;
        int fits = 0;
        var runId = $"flower@{_server}";
        ClientLog.FlowerConnected(_logger, _server);
        try
        {
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = call.ResponseStream.Current;
                if (message.MsgCase == ServerMessage.MsgOneofCase.ReconnectIns)
                {
                    reconnected = true;
                    var reason = message.ReconnectIns.Seconds > 0 ? Reason.Reconnect : Reason.Ack;
                    await call.RequestStream.WriteAsync(new ClientMessage { DisconnectRes = new ClientMessage.Types.DisconnectRes { Reason = reason } }, cancellationToken).ConfigureAwait(false);
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                    ClientLog.FlowerReconnect(_logger, Answered);
                    await DrainAsync(call, cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (message.MsgCase == ServerMessage.MsgOneofCase.FitIns)
                {
                    fits++;
                }

                var answer = await AnswerAsync(message, runId, Math.Max(fits, 1), cancellationToken).ConfigureAwait(false);
                await call.RequestStream.WriteAsync(answer, cancellationToken).ConfigureAwait(false);
                Answered++;
            }

            throw new FleetClientException($"the Flower server at {_server} closed the stream without reconnect_ins (after {Answered} answers)");
        }
        catch (RpcException ex) when (reconnected && ex.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled)
        {
            // Flower's server shuts down about a second after reconnect_ins: the normal end.
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var status = ex.StatusCode == StatusCode.Cancelled ? await RealStatusAsync(call).ConfigureAwait(false) ?? ex.Status : ex.Status;
            throw new FleetClientException($"the Flower stream with {_server} failed after {Answered} answers: {status.StatusCode} {status.Detail}", ex);
        }
    }

    private async Task<ClientMessage> AnswerAsync(ServerMessage message, string runId, int round, CancellationToken cancellationToken)
    {
        if (message.MsgCase is ServerMessage.MsgOneofCase.FitIns or ServerMessage.MsgOneofCase.EvaluateIns)
        {
            await EnsureTemplateAsync(runId, cancellationToken).ConfigureAwait(false);
        }

        Message? instruction;
        try
        {
            instruction = FlowerMapping.ToInstruction(message, runId, 0, Answered + 1, round, _template);
        }
        catch (InvalidDataException ex)
        {
            ClientLog.FlowerBadInstruction(_logger, ex.Message);
            var bad = new Message(
                new MessageMetadata { RunId = runId, Round = round, MessageType = MessageType.Custom },
                new MessageError("invalid_instruction", ex.Message));
            return FlowerMapping.ToClientMessage(message, bad);
        }

        if (instruction is null)
        {
            throw new FleetClientException($"the Flower server at {_server} sent a ServerMessage with no message set");
        }

        var reply = await _app.HandleAsync(instruction, cancellationToken).ConfigureAwait(false);
        if (message.MsgCase == ServerMessage.MsgOneofCase.GetParametersIns && reply.Content?.Arrays.GetValueOrDefault(RecordNames.Model) is { Count: > 0 } model)
        {
            _template ??= model;
        }

        ClientLog.FlowerAnswered(_logger, message.MsgCase.ToString(), instruction.Metadata.Round, reply.Error?.Reason ?? "ok");
        return FlowerMapping.ToClientMessage(message, reply);
    }

    /// <summary>
    /// Flower's tensors have no names: they take the names (and must have the shapes) of the app's own model, asked
    /// for once with a query. An app that answers no query gets names "0", "1", ...
    /// </summary>
    private async Task EnsureTemplateAsync(string runId, CancellationToken cancellationToken)
    {
        if (_templateAsked)
        {
            return;
        }

        _templateAsked = true;
        _template ??= await ClientTemplate.AskAsync(_app, runId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After reconnect_ins: waits (bounded) for the server to end the call; any ending is fine.</summary>
    private static async Task DrainAsync(AsyncDuplexStreamingCall<ClientMessage, ServerMessage> call, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(EndWait);
        try
        {
            while (await call.ResponseStream.MoveNext(wait.Token).ConfigureAwait(false))
            {
            }
        }
        catch (RpcException)
        {
            // UNAVAILABLE ("Cancelling all calls") from a Flower server shutting down, or our own bounded wait.
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The server kept the stream open; the run is over anyway.
        }
    }

    /// <summary>A write cancelled by the server hides the reason; the response stream carries the real status.</summary>
    private static async Task<Grpc.Core.Status?> RealStatusAsync(AsyncDuplexStreamingCall<ClientMessage, ServerMessage> call)
    {
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            while (await call.ResponseStream.MoveNext(wait.Token).ConfigureAwait(false))
            {
            }

            return call.GetStatus();
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
