using Federate.Protocol;
using Federate.Protocol.Fleet.V1;

namespace Federate.Server.Internal;

/// <summary>
/// An update's chunks as bulk frames in an HTTP request body (<see cref="BulkFrames"/>): each chunk is read straight
/// into its tensor or a pooled buffer, hashed and checked for NaN on the thread pool while the next ones arrive.
/// </summary>
internal sealed class BulkUpdate(Stream body) : IUpdateBody
{
    public async Task ReadAsync(UpdateReceipt receipt, CancellationToken cancellationToken)
    {
        var reader = new ChunkStreamReader(
            receipt.Verifier,
            receipt.Destination,
            receipt.Cipher is null ? null : receipt.Open,
            (index, offset, data) => receipt.Inspect(index, offset, data.Span),
            (index, offset, data) =>
            {
                var problem = receipt.Accept(index, offset, data.Span);
                receipt.Release(data);
                return problem;
            });
        string? problem;
        try
        {
            problem = await reader.ReadAsync(body, NextAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw receipt.Refuse(ex.Message);
        }

        if (problem is not null)
        {
            throw receipt.Refuse(problem);
        }
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[64 << 10];
        while (await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
    }

    private static async ValueTask<(TensorChunk? Chunk, TensorDigest? Digest)?> NextAsync(Stream stream, CancellationToken cancellationToken)
    {
        var frame = await BulkFrames.ReadAsync(stream, UpdateFrame.Parser, cancellationToken).ConfigureAwait(false);
        return frame?.FrameCase switch
        {
            null => null,
            UpdateFrame.FrameOneofCase.Chunk => (frame.Chunk, null),
            UpdateFrame.FrameOneofCase.Digest => (null, frame.Digest),
            _ => throw new InvalidDataException("an update has exactly one header, first"),
        };
    }
}
