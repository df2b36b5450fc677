using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Federate.Core.Aggregation;

/// <summary>
/// Model-sized working state of an aggregator or strategy (server-optimizer moments, central DP's float64 sum): one
/// flat vector of <typeparamref name="T"/> per tensor, kept in memory when small and in a temporary file when its size
/// reaches <see cref="DiskThresholdBytes"/>, read and written block by block, so a large model's state costs disk, not
/// memory. The file is deleted when this is disposed (on Unix at once: it lives on through the open handle only, so
/// even a killed process leaves nothing behind). New state is all zeros.
/// </summary>
internal sealed class ScratchTensors<T> : IDisposable
    where T : unmanaged
{
    private readonly T[][]? _memory;
    private readonly SafeFileHandle? _file;
    private readonly long[] _starts;

    /// <summary>State of at least this many bytes lives in a file. Default 64 MiB; tests lower it.</summary>
    internal static long DiskThresholdBytes { get; set; } = 64L << 20;

    /// <summary>Elements per block when state is processed block by block.</summary>
    public const int BlockElements = 1 << 16;

    public ScratchTensors(IReadOnlyList<long> lengths)
    {
        Lengths = [.. lengths];
        _starts = new long[Lengths.Length];
        long total = 0;
        for (int i = 0; i < Lengths.Length; i++)
        {
            _starts[i] = total;
            total += Lengths[i] * Marshal.SizeOf<T>();
        }

        if (total >= DiskThresholdBytes)
        {
            var directory = Path.Combine(Path.GetTempPath(), "federate-scratch");
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, $"{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
            _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
            if (!OperatingSystem.IsWindows())
            {
                File.Delete(path);
            }

            RandomAccess.SetLength(_file, total);
        }
        else
        {
            _memory = [.. Lengths.Select(n => new T[n])];
        }
    }

    /// <summary>Elements per tensor.</summary>
    public long[] Lengths { get; }

    /// <summary>True when the state lives in a temporary file.</summary>
    public bool OnDisk => _file is not null;

    /// <summary>Copies elements [<paramref name="offset"/>, +destination.Length) of tensor <paramref name="tensor"/>.</summary>
    public void Read(int tensor, long offset, Span<T> destination)
    {
        if (_memory is not null)
        {
            _memory[tensor].AsSpan(checked((int)offset), destination.Length).CopyTo(destination);
            return;
        }

        var bytes = MemoryMarshal.AsBytes(destination);
        long position = _starts[tensor] + (offset * Marshal.SizeOf<T>());
        while (bytes.Length > 0)
        {
            int n = RandomAccess.Read(_file!, bytes, position);
            if (n == 0)
            {
                throw new IOException("the scratch file is shorter than expected");
            }

            bytes = bytes[n..];
            position += n;
        }
    }

    /// <summary>Overwrites elements [<paramref name="offset"/>, +source.Length) of tensor <paramref name="tensor"/>.</summary>
    public void Write(int tensor, long offset, ReadOnlySpan<T> source)
    {
        if (_memory is not null)
        {
            source.CopyTo(_memory[tensor].AsSpan(checked((int)offset), source.Length));
            return;
        }

        RandomAccess.Write(_file!, MemoryMarshal.AsBytes(source), _starts[tensor] + (offset * Marshal.SizeOf<T>()));
    }

    /// <summary>Writes tensor <paramref name="tensor"/>'s elements (little-endian) to <paramref name="stream"/>, block by block.</summary>
    public void CopyTo(int tensor, Stream stream)
    {
        var block = new T[(int)Math.Min(BlockElements, Math.Max(1, Lengths[tensor]))];
        for (long offset = 0; offset < Lengths[tensor]; offset += block.Length)
        {
            var span = block.AsSpan(0, (int)Math.Min(block.Length, Lengths[tensor] - offset));
            Read(tensor, offset, span);
            stream.Write(MemoryMarshal.AsBytes(span));
        }
    }

    /// <summary>Reads tensor <paramref name="tensor"/>'s elements from <paramref name="stream"/>, block by block.</summary>
    public void CopyFrom(int tensor, Stream stream)
    {
        var block = new T[(int)Math.Min(BlockElements, Math.Max(1, Lengths[tensor]))];
        for (long offset = 0; offset < Lengths[tensor]; offset += block.Length)
        {
            var span = block.AsSpan(0, (int)Math.Min(block.Length, Lengths[tensor] - offset));
            stream.ReadExactly(MemoryMarshal.AsBytes(span));
            Write(tensor, offset, span);
        }
    }

    public void Dispose() => _file?.Dispose();
}
