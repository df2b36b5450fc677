using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Federate.Core;
using Federate.Protocol;
using Federate.Protocol.Fleet.V1;
using Federate.Security;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federate.Client.Internal;

/// <summary>
/// The client's side of the server's bulk transfer endpoint (plain HTTP/1.1, TLS with a kit): downloads a task's
/// tensors straight into the tensors (resuming a broken download from its last whole chunk) and uploads replies as
/// framed raw bytes. Refusals come back as <see cref="RpcException"/>s with the status the gRPC call would have had.
/// </summary>
internal sealed class BulkChannel : IDisposable
{
    /// <summary>Broken downloads resumed before the task counts as lost.</summary>
    public const int MaxResumes = 3;

    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly LogLevel _taskLogLevel;

    private BulkChannel(HttpClient http, ILogger logger, LogLevel taskLogLevel)
    {
        _http = http;
        _logger = logger;
        _taskLogLevel = taskLogLevel;
    }

    /// <summary>Opens the endpoint at <paramref name="port"/> of the server's host when a probe answers; null otherwise.</summary>
    public static async Task<BulkChannel?> TryOpenAsync(string server, int port, ClientIdentity? identity, TimeSpan connectTimeout, ILogger logger, LogLevel taskLogLevel, CancellationToken cancellationToken)
    {
        var host = new Uri("http://" + server).Host;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        };
        if (identity is not null)
        {
            SecureChannel.Configure(handler, identity.Ca, http11: true);
        }

        var http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = new Uri($"{(identity is null ? "http" : "https")}://{host}:{port}"),
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            using var probe = await http.GetAsync("/fleet/v1/transfer", timeout.Token).ConfigureAwait(false);
            if (probe.StatusCode == HttpStatusCode.NoContent)
            {
                return new BulkChannel(http, logger, taskLogLevel);
            }

            ClientLog.TransferEndpointUnreachable(logger, port, $"HTTP {(int)probe.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            ClientLog.TransferEndpointUnreachable(logger, port, ex.Message);
        }

        http.Dispose();
        return null;
    }

    /// <summary>Downloads the tensors of task <paramref name="messageId"/> into <paramref name="tensors"/>; returns the bytes received.</summary>
    public async Task<long> DownloadAsync(long nodeId, Func<string?> token, string messageId, Tensor[] tensors, PayloadCipher? cipher, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var verifier = new ChunkVerifier([.. tensors.Select(t => (t.ByteLength, t.DType.SizeOf()))], FleetProtocol.MaxChunkSize);
        var reader = new ChunkStreamReader(
            verifier,
            (index, offset, length) => MemoryMarshal.AsMemory(TensorChunks.AsMemory(tensors[index]).Slice((int)offset, length)),
            cipher is null ? null : (data, nonce, tag, index, offset) => cipher.TryDecryptInPlace(data, nonce, tag, PayloadDirection.ToClient, index, offset, out var problem) ? null : problem);
        for (int attempt = 0; ; attempt++)
        {
            var path = BulkFrames.TaskPath(messageId, verifier.CurrentTensor, verifier.CurrentOffset);
            try
            {
                using var request = Request(HttpMethod.Get, path, nodeId, token());
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
                using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(stream, NextAsync, cancellationToken).ConfigureAwait(false) is { } problem)
                {
                    throw new InvalidDataException($"the server sent a corrupt task: {problem}");
                }

                if (!verifier.IsComplete)
                {
                    throw new IOException("the tensor stream ended before all tensors arrived");
                }

                Log("download", reader.BytesRead, started);
                return reader.BytesRead;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && attempt < MaxResumes && !cancellationToken.IsCancellationRequested)
            {
                ClientLog.Resuming(_logger, reader.BytesRead, ex.Message, verifier.CurrentTensor, verifier.CurrentOffset);
            }
        }
    }

    /// <summary>Uploads a reply: its header, then every tensor's chunks (hashed a few ahead, encrypted when a cipher is given).</summary>
    public async Task UploadAsync(long nodeId, string? token, UpdateHeader header, IReadOnlyList<Tensor> tensors, int chunkSize, PayloadCipher? cipher, Action? perChunk, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        long bytes = 0;
        using var request = Request(HttpMethod.Post, BulkFrames.UpdatesPath, nodeId, token);
        request.Content = new FramesContent(async (stream, ct) =>
        {
            await BulkFrames.WriteAsync(stream, new UpdateFrame { Header = header }, default, ct).ConfigureAwait(false);
            bytes = await BulkFrames.WriteTensorsAsync(
                stream,
                tensors,
                chunkSize,
                0,
                0,
                static (chunk, digest) => chunk is not null ? new UpdateFrame { Chunk = chunk } : new UpdateFrame { Digest = digest },
                null,
                cipher is null ? null : (data, index, offset) => cipher.Encrypt(data.Span, PayloadDirection.ToServer, index, offset),
                perChunk is null ? null : _ => perChunk(),
                ct).ConfigureAwait(false);
        });
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        Log("upload", bytes, started);
    }

    public void Dispose() => _http.Dispose();

    private void Log(string direction, long bytes, long started)
    {
        ClientLog.Transferred(_logger, _taskLogLevel, direction, bytes, started, "transfer endpoint");
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, long nodeId, string? token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(BulkFrames.NodeHeader, nodeId.ToString(CultureInfo.InvariantCulture));
        if (token is not null)
        {
            request.Headers.Add(SessionTokens.Header, token);
        }

        return request;
    }

    /// <summary>A refusal (a status header with the gRPC code) as the RpcException the gRPC call would have thrown.</summary>
    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var detail = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var code = response.Headers.TryGetValues(BulkFrames.StatusHeader, out var values) && int.TryParse(values.FirstOrDefault(), out var c)
            ? (StatusCode)c
            : StatusCode.Unavailable;
        throw new RpcException(new Status(code, detail.Length > 0 ? detail : $"the transfer endpoint answered HTTP {(int)response.StatusCode}"));
    }

    private static async ValueTask<(TensorChunk? Chunk, TensorDigest? Digest)?> NextAsync(Stream stream, CancellationToken cancellationToken)
    {
        var frame = await BulkFrames.ReadAsync(stream, TaskFrame.Parser, cancellationToken).ConfigureAwait(false);
        return frame?.FrameCase switch
        {
            null => null,
            TaskFrame.FrameOneofCase.Chunk => (frame.Chunk, null),
            TaskFrame.FrameOneofCase.Digest => (null, frame.Digest),
            var other => throw new InvalidDataException($"the server sent a corrupt task: unexpected {other} frame among tensors"),
        };
    }

    /// <summary>A request body written by a delegate as it goes (chunked transfer encoding, nothing buffered).</summary>
    private sealed class FramesContent(Func<Stream, CancellationToken, Task> write) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => write(stream, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) => write(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
