namespace Federate.Server;

/// <summary>
/// Decides whether a request to an admin-only action (inspector actions, per-client weights, control API) carries a
/// valid admin credential. The security layer supplies one backed by the project's admin kits; development servers
/// may use <see cref="SharedTokenAdminAuthenticator"/>.
/// </summary>
public interface IAdminAuthenticator
{
    /// <summary>
    /// Checks the value of the request's <c>Authorization</c> header (for example <c>Bearer TOKEN</c>; null when absent).
    /// </summary>
    /// <param name="authorization">The header value, or null.</param>
    /// <param name="problem">When refused: a one-line reason that names what to do (for example "no admin credential: ...").</param>
    /// <returns>The admin's name when accepted; null when refused.</returns>
    string? Authenticate(string? authorization, out string? problem);
}
