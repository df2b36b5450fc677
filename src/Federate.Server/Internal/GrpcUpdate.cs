using System.Runtime.InteropServices;
using Federate.Protocol.Fleet.V1;
using Grpc.Core;

namespace Federate.Server.Internal;

/// <summary>An update's chunks as gRPC <see cref="UpdateFrame"/>s (the SubmitUpdate stream).</summary>
internal sealed class GrpcUpdate(IAsyncStreamReader<UpdateFrame> stream) : IUpdateBody
{
    public async Task ReadAsync(UpdateReceipt receipt, CancellationToken cancellationToken)
    {
        var verifier = receipt.Verifier;
        while (await stream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var frame = stream.Current;
            switch (frame.FrameCase)
            {
                case UpdateFrame.FrameOneofCase.Chunk:
                {
                    receipt.ThrowIfClosed();
                    var chunk = frame.Chunk;

                    // Decrypted in the received frame's own buffer (gRPC parsing gave it a private copy): memory stays
                    // O(chunk), no buffer per chunk.
                    var problem = receipt.Open(MemoryMarshal.AsMemory(chunk.Data.Memory).Span, chunk.Nonce.Span, chunk.Tag.Span, chunk.TensorIndex, chunk.Offset)
                        ?? verifier.Verify(chunk)
                        ?? receipt.Inspect(chunk.TensorIndex, chunk.Offset, chunk.Data.Span);
                    if (problem is not null)
                    {
                        throw receipt.Refuse(problem);
                    }

                    if (receipt.Accept(chunk.TensorIndex, chunk.Offset, chunk.Data.Span) is { } refused)
                    {
                        throw receipt.Refuse(refused);
                    }

                    break;
                }

                case UpdateFrame.FrameOneofCase.Digest:
                    if (verifier.Verify(frame.Digest) is { } digestProblem)
                    {
                        throw receipt.Refuse(digestProblem);
                    }

                    break;
                default:
                    throw receipt.Refuse("an update has exactly one header, first");
            }
        }
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
        }
    }
}
