namespace Federate.Server.Internal;

/// <summary>What carries an update's chunks after its header: a gRPC stream or a bulk HTTP body.</summary>
internal interface IUpdateBody
{
    /// <summary>Reads every chunk and digest into <paramref name="receipt"/>; throws the refusal of a bad one.</summary>
    Task ReadAsync(UpdateReceipt receipt, CancellationToken cancellationToken);

    /// <summary>Reads and drops the rest (an error reply has no tensors).</summary>
    Task DrainAsync(CancellationToken cancellationToken);
}
