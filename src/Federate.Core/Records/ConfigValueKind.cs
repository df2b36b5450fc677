namespace Federate.Core.Records;

/// <summary>Kind of a <see cref="ConfigValue"/>.</summary>
public enum ConfigValueKind
{
    /// <summary>A 64-bit integer.</summary>
    Long,
    /// <summary>A double.</summary>
    Double,
    /// <summary>A boolean.</summary>
    Bool,
    /// <summary>A string.</summary>
    String,
    /// <summary>Raw bytes.</summary>
    Bytes,
}
