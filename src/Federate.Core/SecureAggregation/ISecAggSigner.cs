namespace Federate.Core.SecureAggregation;

/// <summary>
/// Signs the public keys a client announces for secure aggregation with its enrolment certificate, and checks its
/// neighbours' signatures, so a server cannot swap in keys of its own (with startup kits: the kit's certificate and
/// the project CA). A client with a signer refuses neighbours whose keys are not signed by distinct enrolled clients.
/// </summary>
public interface ISecAggSigner
{
    /// <summary>This client's certificate (DER), sent with its keys.</summary>
    byte[] Certificate { get; }

    /// <summary>Signs <paramref name="transcript"/> (run, round, node and the two public keys).</summary>
    byte[] Sign(byte[] transcript);

    /// <summary>
    /// Null when <paramref name="certificate"/> is a valid client certificate of the project and
    /// <paramref name="signature"/> is its signature over <paramref name="transcript"/>; otherwise a one-line reason.
    /// </summary>
    string? Verify(byte[] certificate, byte[] transcript, byte[] signature);
}
