namespace Federate.Cli;

/// <summary>Exit codes of the federate tool.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Internal = 70;
}
