using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Federate.Core.Formats;

/// <summary>
/// Reads and writes NumPy's <c>.npy</c> format (one array per file; Flower sends each tensor this way). Reads format
/// versions 1.0, 2.0 and 3.0, little- and big-endian data, C and Fortran order, 0-d and empty arrays of float16/32/64,
/// int8/16/32/64, uint8/16/32/64 and bool. Pickled (object) arrays are refused: they can run code when loaded.
/// Writes the bytes <c>numpy.save</c> writes for the same array (version 1.0 unless the header needs 2.0, C order,
/// little-endian, header padded with spaces to a 64-byte boundary).
/// </summary>
public static partial class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private const int MagicLength = 8;
    private const int Align = 64;
    private const int GrowthAxisMaxDigits = 21;
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>The <c>.npy</c> bytes of a tensor, as <c>numpy.save</c> writes them.</summary>
    public static byte[] Write(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var header = Header(tensor.DType, tensor.Shape);
        var result = new byte[header.Length + tensor.ByteLength];
        header.CopyTo(result, 0);
        tensor.AsBytes().CopyTo(result.AsSpan(header.Length));
        return result;
    }

    /// <summary>
    /// The <c>.npy</c> header numpy (1.23 and later) writes for an array of this dtype and shape (C order): magic,
    /// version (1.0, or 2.0 when the header outgrows a 16-bit length), header length, the header dictionary with room
    /// to grow the first axis, padded with spaces to a multiple of 64 bytes and ended by a newline. The data follows.
    /// </summary>
    public static byte[] Header(DType dtype, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var shapeText = shape.Count switch
        {
            0 => "()",
            1 => string.Create(CultureInfo.InvariantCulture, $"({shape[0]},)"),
            _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        var header = $"{{'descr': '{Descr(dtype)}', 'fortran_order': False, 'shape': {shapeText}, }}";
        if (shape.Count > 0)
        {
            header += new string(' ', GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length);
        }

        var headerBytes = Encoding.ASCII.GetBytes(header);
        int hlen = headerBytes.Length + 1;
        int lengthSize = 2;
        int pad = Align - ((MagicLength + lengthSize + hlen) % Align);
        if (hlen + pad > ushort.MaxValue)
        {
            // Version 2.0: the header no longer fits a 16-bit length (arrays of very high rank).
            lengthSize = 4;
            pad = Align - ((MagicLength + lengthSize + hlen) % Align);
        }

        int prefix = MagicLength + lengthSize + hlen + pad;
        var result = new byte[prefix];
        Magic.CopyTo(result);
        result[6] = (byte)(lengthSize == 2 ? 1 : 2);
        result[7] = 0;
        if (lengthSize == 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)(hlen + pad));
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)(hlen + pad));
        }

        int at = MagicLength + lengthSize;
        headerBytes.CopyTo(result, at);
        result.AsSpan(at + headerBytes.Length, pad).Fill((byte)' ');
        result[prefix - 1] = (byte)'\n';
        return result;
    }

    /// <summary>
    /// Reads one <c>.npy</c> file into a C-order tensor (Fortran-order data is reordered, big-endian data swapped).
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a <c>.npy</c> file Federate accepts (one-line reason).</exception>
    public static Tensor Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < MagicLength + 2 || !bytes[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a .npy file (it does not start with \\x93NUMPY)");
        }

        byte major = bytes[6];
        int lengthSize = major switch
        {
            1 => 2,
            2 or 3 => 4,
            _ => throw new InvalidDataException($"unsupported .npy format version {major}.{bytes[7]} (1.0, 2.0 and 3.0 are read)"),
        };
        if (bytes.Length < MagicLength + lengthSize)
        {
            throw new InvalidDataException("truncated .npy header");
        }

        long headerLength = lengthSize == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[MagicLength..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[MagicLength..]);
        long dataStart = MagicLength + lengthSize + headerLength;
        if (headerLength > MaxHeaderBytes || dataStart > bytes.Length)
        {
            throw new InvalidDataException($"the .npy header claims {headerLength} bytes but the file has {bytes.Length}");
        }

        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes.Slice(MagicLength + lengthSize, (int)headerLength));
        var (dtype, bigEndian, fortran, shape) = ParseHeader(header);
        long count;
        try
        {
            count = Tensor.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"the .npy shape {FormatShape(shape)} is too large");
        }

        long expected = count * dtype.SizeOf();
        var data = bytes[(int)dataStart..];
        if (data.Length != expected)
        {
            throw new InvalidDataException($"the .npy array of dtype {dtype} and shape {FormatShape(shape)} needs {expected} data bytes, got {data.Length}");
        }

        if (expected > int.MaxValue)
        {
            throw new InvalidDataException($"the .npy array is larger than 2 GiB ({expected} bytes)");
        }

        var tensor = Tensor.FromBytes(dtype, data, shape);
        if (bigEndian)
        {
            SwapBytes(tensor.AsBytes(), dtype.SizeOf());
        }

        if (dtype == DType.Bool)
        {
            foreach (var b in tensor.AsBytes())
            {
                if (b > 1)
                {
                    throw new InvalidDataException($"the .npy bool array holds the byte {b} (only 0 and 1 are booleans)");
                }
            }
        }

        return fortran && shape.Length > 1 ? FromFortranOrder(tensor, shape) : tensor;
    }

    /// <summary>NumPy's dtype string for a Federate dtype (<c>&lt;f4</c>, <c>|b1</c>, ...).</summary>
    public static string Descr(DType dtype)
    {
        int size = dtype.SizeOf();
        char kind = dtype switch
        {
            DType.Float16 or DType.Float32 or DType.Float64 => 'f',
            DType.Int8 or DType.Int16 or DType.Int32 or DType.Int64 => 'i',
            DType.Bool => 'b',
            _ => 'u',
        };
        return $"{(size == 1 ? '|' : '<')}{kind}{size}";
    }

    /// <summary>Every dtype code Federate reads: the kind and size ("f4", "u1", "b1") and NumPy's one-letter aliases.</summary>
    private static readonly Dictionary<string, DType> s_byCode = Enum.GetValues<DType>()
        .Select(d => (Code: Descr(d)[1..], DType: d))
        .Concat("efdbhiqBHIQ?".Zip([DType.Float16, DType.Float32, DType.Float64, DType.Int8, DType.Int16, DType.Int32, DType.Int64, DType.UInt8, DType.UInt16, DType.UInt32, DType.UInt64, DType.Bool], (c, d) => (Code: c.ToString(), DType: d)))
        .ToDictionary(e => e.Code, e => e.DType, StringComparer.Ordinal);

    private static (DType DType, bool BigEndian, bool Fortran, long[] Shape) ParseHeader(string header)
    {
        var text = header.Trim();
        if (!text.StartsWith('{') || !text.EndsWith('}'))
        {
            throw new InvalidDataException("the .npy header is not a dictionary");
        }

        var descr = DescrPattern().Match(text);
        var fortran = FortranPattern().Match(text);
        var shapeMatch = ShapePattern().Match(text);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
        {
            throw new InvalidDataException(text.Contains("'descr'", StringComparison.Ordinal) && !descr.Success
                ? "the .npy array has a structured dtype (record arrays are not read)"
                : "the .npy header lacks 'descr', 'fortran_order' or 'shape'");
        }

        var code = descr.Groups[1].Value;
        if (code.Contains('O', StringComparison.Ordinal))
        {
            throw new InvalidDataException("the .npy array holds Python objects (pickled); send numeric arrays (allow_pickle is refused)");
        }

        if (code.Length < 2)
        {
            throw new InvalidDataException($"the .npy dtype '{code}' is not supported");
        }

        char order = code[0];
        var kind = code[1..];
        bool bigEndian = order == '>' || (order == '!');
        if (order is not ('<' or '>' or '|' or '=' or '!'))
        {
            kind = code;
            bigEndian = false;
        }

        if (!s_byCode.TryGetValue(kind, out var dtype))
        {
            throw new InvalidDataException($"the .npy dtype '{code}' is not supported (float16/32/64, int8-64, uint8-64 and bool are)");
        }

        var dims = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            var d = dims[i].TrimEnd('L');
            if (!long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
            {
                throw new InvalidDataException($"the .npy shape ({shapeMatch.Groups[1].Value}) is not a tuple of non-negative integers");
            }
        }

        return (dtype, bigEndian, fortran.Groups[1].Value == "True", shape);
    }

    private static void SwapBytes(Span<byte> bytes, int size)
    {
        if (size == 1)
        {
            return;
        }

        for (int i = 0; i < bytes.Length; i += size)
        {
            bytes.Slice(i, size).Reverse();
        }
    }

    /// <summary>Reorders column-major elements into a row-major tensor of the same shape.</summary>
    private static Tensor FromFortranOrder(Tensor source, long[] shape)
    {
        var target = Tensor.Zeros(source.DType, shape);
        int size = source.DType.SizeOf();
        var src = source.AsBytes();
        var dst = target.AsBytes();
        int rank = shape.Length;
        var index = new long[rank];
        long n = source.Length;
        for (long c = 0; c < n; c++)
        {
            // c is the row-major position of index; compute the column-major position.
            long f = 0;
            for (int k = rank - 1; k >= 0; k--)
            {
                f = (f * shape[k]) + index[k];
            }

            src.Slice((int)(f * size), size).CopyTo(dst.Slice((int)(c * size), size));
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++index[k] < shape[k])
                {
                    break;
                }

                index[k] = 0;
            }
        }

        return target;
    }

    private static string FormatShape(long[] shape) => "(" + string.Join(", ", shape) + (shape.Length == 1 ? ",)" : ")");

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
