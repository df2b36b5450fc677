namespace Federate.Core.Records;

/// <summary>Element type of a <see cref="Tensor"/>. Names follow safetensors (F32, F64, ...).</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (the default for model parameters).</summary>
    Float32,
    /// <summary>64-bit IEEE float.</summary>
    Float64,
    /// <summary>16-bit IEEE float (interop).</summary>
    Float16,
    /// <summary>Signed 8-bit integer.</summary>
    Int8,
    /// <summary>Signed 16-bit integer.</summary>
    Int16,
    /// <summary>Signed 32-bit integer.</summary>
    Int32,
    /// <summary>Signed 64-bit integer.</summary>
    Int64,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64,
    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    Bool,
}
