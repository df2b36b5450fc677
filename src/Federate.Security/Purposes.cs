namespace Federate.Security;

/// <summary>Signature purpose labels (domain separation: one key never signs one kind of thing as another).</summary>
internal static class Purposes
{
    public static readonly string Hello = Label("hello");
    public static readonly string Register = Label("register");
    public static readonly string Session = Label("session");
    public static readonly string Admin = Label("admin");
    public static readonly string PayloadKey = Label("payload-key");
    public static readonly string SecAggKeys = Label("secagg-keys");

    /// <summary>The label of a purpose: "federate-NAME-v1".</summary>
    private static string Label(string name) => $"federate-{name}-v1";
}
