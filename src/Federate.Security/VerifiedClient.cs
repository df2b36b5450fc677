using System.Security.Cryptography.X509Certificates;

namespace Federate.Security;

/// <summary>A client proven by its registration (design 5, step 3).</summary>
/// <param name="CommonName">The client's CN.</param>
/// <param name="Serial">Its certificate's serial number.</param>
/// <param name="Certificate">Its certificate (for wrapping the payload key).</param>
public sealed record VerifiedClient(string CommonName, string Serial, X509Certificate2 Certificate);
