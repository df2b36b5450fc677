namespace Federate.Security;

/// <summary>Signature purpose labels (domain separation: one key never signs one kind of thing as another).</summary>
internal static class Purposes
{
    public const string Hello = "federate-hello-v1";
    public const string Register = "federate-register-v1";
    public const string Session = "federate-session-v1";
    public const string Admin = "federate-admin-v1";
    public const string PayloadKey = "federate-payload-key-v1";
    public const string SecAggKeys = "federate-secagg-keys-v1";
}
