namespace Federate.Core.Records;

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.Float32 or DType.Int32 or DType.UInt32 => 4,
        DType.Float64 or DType.Int64 or DType.UInt64 => 8,
        DType.Float16 or DType.Int16 or DType.UInt16 => 2,
        DType.Int8 or DType.UInt8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>The safetensors name of a dtype (F32, F64, F16, I8, I16, I32, I64, U8, U16, U32, U64, BOOL).</summary>
    public static string ToSafetensorsName(this DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Float16 => "F16",
        DType.Int8 => "I8",
        DType.Int16 => "I16",
        DType.Int32 => "I32",
        DType.Int64 => "I64",
        DType.UInt8 => "U8",
        DType.UInt16 => "U16",
        DType.UInt32 => "U32",
        DType.UInt64 => "U64",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>Parses a safetensors dtype name; returns false for names Federate does not support (e.g. BF16).</summary>
    public static bool TryParseSafetensorsName(string name, out DType dtype) => s_bySafetensorsName.TryGetValue(name, out dtype);

    private static readonly Dictionary<string, DType> s_bySafetensorsName =
        Enum.GetValues<DType>().ToDictionary(d => d.ToSafetensorsName(), StringComparer.Ordinal);

    /// <summary>The CLR element type that backs a dtype.</summary>
    public static Type ElementType(this DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float),
        DType.Float64 => typeof(double),
        DType.Float16 => typeof(Half),
        DType.Int8 => typeof(sbyte),
        DType.Int16 => typeof(short),
        DType.Int32 => typeof(int),
        DType.Int64 => typeof(long),
        DType.UInt8 => typeof(byte),
        DType.UInt16 => typeof(ushort),
        DType.UInt32 => typeof(uint),
        DType.UInt64 => typeof(ulong),
        DType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for floating-point dtypes.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64 or DType.Float16;
}
