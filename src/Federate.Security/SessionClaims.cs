namespace Federate.Security;

/// <summary>What a valid session token says.</summary>
/// <param name="NodeId">The node it is bound to.</param>
/// <param name="CommonName">The client's CN.</param>
/// <param name="Serial">The client certificate's serial.</param>
public sealed record SessionClaims(long NodeId, string CommonName, string Serial);
