using Federate.Core.SecureAggregation;
using Federate.Security;

namespace Federate.Client;

/// <summary>
/// Signs a client's secure-aggregation keys with its startup kit and checks its neighbours' keys against the project
/// CA (client certificates only), so the server cannot substitute keys: give it to <see cref="SecAggPlusClient"/>.
/// </summary>
/// <param name="identity">The client's kit identity.</param>
/// <param name="timeProvider">The clock certificates are checked against (default the system clock).</param>
public sealed class KitSecAggSigner(ClientIdentity identity, TimeProvider? timeProvider = null) : ISecAggSigner
{
    private readonly ClientIdentity _identity = identity ?? throw new ArgumentNullException(nameof(identity));
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public byte[] Certificate => _identity.CertificateDer;

    /// <inheritdoc />
    public byte[] Sign(byte[] transcript) => _identity.SignSecAggKeys(transcript);

    /// <inheritdoc />
    public string? Verify(byte[] certificate, byte[] transcript, byte[] signature) => _identity.VerifySecAggKeys(certificate, transcript, signature, _time.GetUtcNow());
}
