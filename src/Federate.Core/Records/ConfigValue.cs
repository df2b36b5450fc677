using System.Globalization;

namespace Federate.Core.Records;

/// <summary>A scalar in a <see cref="ConfigRecord"/>: long, double, bool, string or bytes.</summary>
public readonly struct ConfigValue : IEquatable<ConfigValue>
{
    private readonly long _long;
    private readonly double _double;
    private readonly object? _ref;

    private ConfigValue(ConfigValueKind kind, long l, double d, object? r)
    {
        Kind = kind;
        _long = l;
        _double = d;
        _ref = r;
    }

    /// <summary>The kind of value held.</summary>
    public ConfigValueKind Kind { get; }

    /// <summary>Implicit conversion from long.</summary>
    public static implicit operator ConfigValue(long value) => new(ConfigValueKind.Long, value, 0, null);

    /// <summary>Implicit conversion from int.</summary>
    public static implicit operator ConfigValue(int value) => new(ConfigValueKind.Long, value, 0, null);

    /// <summary>Implicit conversion from double.</summary>
    public static implicit operator ConfigValue(double value) => new(ConfigValueKind.Double, 0, value, null);

    /// <summary>Implicit conversion from bool.</summary>
    public static implicit operator ConfigValue(bool value) => new(ConfigValueKind.Bool, value ? 1 : 0, 0, null);

    /// <summary>Implicit conversion from string.</summary>
    public static implicit operator ConfigValue(string value) => new(ConfigValueKind.String, 0, 0, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>Implicit conversion from bytes.</summary>
    public static implicit operator ConfigValue(byte[] value) => new(ConfigValueKind.Bytes, 0, 0, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>The value as a long (a double is accepted when it is integral).</summary>
    public long AsLong() => Kind switch
    {
        ConfigValueKind.Long => _long,
        ConfigValueKind.Double when _double == Math.Floor(_double) => (long)_double,
        ConfigValueKind.String when long.TryParse((string)_ref!, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
        _ => throw new InvalidCastException($"Config value {this} is not an integer."),
    };

    /// <summary>The value as a double (longs are widened).</summary>
    public double AsDouble() => Kind switch
    {
        ConfigValueKind.Double => _double,
        ConfigValueKind.Long => _long,
        ConfigValueKind.String when double.TryParse((string)_ref!, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
        _ => throw new InvalidCastException($"Config value {this} is not a number."),
    };

    /// <summary>The value as a bool.</summary>
    public bool AsBool() => Kind switch
    {
        ConfigValueKind.Bool => _long != 0,
        ConfigValueKind.Long => _long != 0,
        ConfigValueKind.String when bool.TryParse((string)_ref!, out var v) => v,
        _ => throw new InvalidCastException($"Config value {this} is not a boolean."),
    };

    /// <summary>The value as a string (numbers are formatted invariantly).</summary>
    public string AsString() => Kind switch
    {
        ConfigValueKind.String => (string)_ref!,
        _ => ToString(),
    };

    /// <summary>The value as bytes.</summary>
    public byte[] AsBytes() => Kind == ConfigValueKind.Bytes ? (byte[])_ref! : throw new InvalidCastException($"Config value {this} is not bytes.");

    /// <summary>
    /// Parses text from a command line: integers become longs, other numbers doubles, true/false bools,
    /// anything else a string.
    /// </summary>
    public static ConfigValue Parse(string text)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }

        if (bool.TryParse(text, out var b))
        {
            return b;
        }

        return text;
    }

    /// <summary>The value as a boxed CLR object (long, double, bool, string or byte[]).</summary>
    public object ToObject() => Kind switch
    {
        ConfigValueKind.Long => _long,
        ConfigValueKind.Double => _double,
        ConfigValueKind.Bool => _long != 0,
        _ => _ref!,
    };

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ConfigValueKind.Long => _long.ToString(CultureInfo.InvariantCulture),
        ConfigValueKind.Double => _double.ToString("R", CultureInfo.InvariantCulture),
        ConfigValueKind.Bool => _long != 0 ? "true" : "false",
        ConfigValueKind.String => (string)_ref!,
        _ => Convert.ToBase64String((byte[])_ref!),
    };

    /// <inheritdoc />
    public bool Equals(ConfigValue other) => Kind == other.Kind && Kind switch
    {
        ConfigValueKind.Long or ConfigValueKind.Bool => _long == other._long,
        ConfigValueKind.Double => _double.Equals(other._double),
        ConfigValueKind.String => (string)_ref! == (string)other._ref!,
        _ => ((byte[])_ref!).AsSpan().SequenceEqual((byte[])other._ref!),
    };

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ConfigValue v && Equals(v);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, _long, _double, Kind == ConfigValueKind.String ? _ref : null);

    /// <summary>Equality.</summary>
    public static bool operator ==(ConfigValue left, ConfigValue right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ConfigValue left, ConfigValue right) => !left.Equals(right);
}
