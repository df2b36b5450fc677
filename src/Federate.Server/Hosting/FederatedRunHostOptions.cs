namespace Federate.Server.Hosting;

/// <summary>Settings of the <see cref="FederatedRunHost"/>.</summary>
public sealed class FederatedRunHostOptions
{
    /// <summary>
    /// Keep the application running after the run ended (the inspector stays up, clients stay connected); otherwise
    /// the host stops the application when the run returns. Default false.
    /// </summary>
    public bool KeepServing { get; set; }
}
