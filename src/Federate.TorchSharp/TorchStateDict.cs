using TorchSharp;
using Tensor = Federate.Core.Records.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Federate.TorchSharp;

/// <summary>
/// A TorchSharp module's <c>state_dict</c> (parameters and persistent buffers, named as PyTorch names them, e.g.
/// <c>0.weight</c>, <c>fc1.bias</c>, <c>bn.running_mean</c>) to and from Federate's <see cref="ArrayRecord"/>. Each
/// tensor is copied once, straight between libtorch's memory and the record's array: no intermediate arrays, and no
/// new libtorch tensors for CPU modules (other devices go through one CPU staging tensor per tensor).
/// </summary>
public static class TorchStateDict
{
    /// <summary>
    /// The module's state_dict as a record with PyTorch's names, dtypes and shapes, in PyTorch's order (module by
    /// module, each module's parameters before its buffers), so it lines up with a PyTorch model's state_dict.
    /// </summary>
    public static ArrayRecord ToRecord(torch.nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var record = new ArrayRecord();
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in InPyTorchOrder(module, module.state_dict()))
        {
            record.Add(name, ToTensor(tensor, name));
        }

        return record;
    }

    /// <summary>
    /// TorchSharp lists all parameters, then all buffers; PyTorch saves each module's parameters and buffers before
    /// its children's. A stable sort by the owning module's position in a pre-order walk gives PyTorch's order.
    /// </summary>
    private static IEnumerable<KeyValuePair<string, TorchTensor>> InPyTorchOrder(torch.nn.Module module, Dictionary<string, TorchTensor> state)
    {
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        void Walk(string prefix, torch.nn.Module current)
        {
            position.TryAdd(prefix, position.Count);
            foreach (var (name, child) in current.named_children())
            {
                Walk(prefix.Length == 0 ? name : $"{prefix}.{name}", child);
            }
        }

        Walk("", module);
        return state.OrderBy(kv => position.GetValueOrDefault(kv.Key.LastIndexOf('.') is var dot and >= 0 ? kv.Key[..dot] : "", int.MaxValue));
    }

    /// <summary>
    /// Copies <paramref name="record"/> into the module's state_dict tensors in place (what PyTorch's
    /// <c>load_state_dict(strict=True)</c> does). Throws <see cref="ArgumentException"/> with a one-line description
    /// when the names, dtypes or shapes differ (<see cref="DescribeMismatch(torch.nn.Module, ArrayRecord)"/>); nothing is copied then.
    /// </summary>
    public static void Load(torch.nn.Module module, ArrayRecord record)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(record);
        var state = module.state_dict();
        if (DescribeLayoutMismatch(state, record) is { } mismatch)
        {
            throw new ArgumentException(mismatch);
        }

        using var noGrad = torch.no_grad();
        foreach (var (name, target) in state)
        {
            CopyTo(record[name], target);
        }
    }

    /// <summary>
    /// How <paramref name="record"/> differs from the module's state_dict (a missing or extra tensor name, a dtype or
    /// a shape), in one line a person can act on; null when it fits.
    /// </summary>
    public static string? DescribeMismatch(torch.nn.Module module, ArrayRecord record)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(record);
        return DescribeLayoutMismatch(module.state_dict(), record);
    }

    /// <summary>A copy of one libtorch tensor as a Federate tensor (same dtype and shape, row-major).</summary>
    public static Tensor ToTensor(TorchTensor tensor) => ToTensor(tensor, "tensor");

    /// <summary>
    /// Copies a Federate tensor into an existing libtorch tensor of the same dtype and shape, in place (no autograd
    /// record: call it where gradients are not tracked, or on tensors that do not require them).
    /// </summary>
    public static void CopyTo(Tensor source, TorchTensor target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (ToDType(target.dtype) != source.DType || !source.Shape.SequenceEqual(target.shape))
        {
            throw new ArgumentException($"cannot copy a {source} tensor into a {Describe(target)} one");
        }

        if (source.Length == 0)
        {
            return;
        }

        if (target.device_type == DeviceType.CPU && target.is_contiguous())
        {
            source.AsBytes().CopyTo(target.bytes);
            return;
        }

        using var staging = torch.empty(target.shape, target.dtype);
        source.AsBytes().CopyTo(staging.bytes);
        using var noGrad = torch.no_grad();
        target.copy_(staging);
    }

    private static string? DescribeLayoutMismatch(Dictionary<string, TorchTensor> state, ArrayRecord record)
    {
        const string fix = "; give the server and every client the same model";
        foreach (var (name, tensor) in state)
        {
            if (!record.TryGetValue(name, out var theirs))
            {
                return $"the received model has no tensor '{name}', which this client's module has{fix}";
            }

            if (theirs.DType != ToDType(tensor.dtype, name) || !theirs.Shape.SequenceEqual(tensor.shape))
            {
                return $"tensor '{name}' is {theirs} in the received model and {Describe(tensor)} in this client's module{fix}";
            }
        }

        if (record.Keys.FirstOrDefault(name => !state.ContainsKey(name)) is { } extra)
        {
            return $"the received model has a tensor '{extra}' that this client's module does not have{fix}";
        }

        return null;
    }

    private static Tensor ToTensor(TorchTensor tensor, string name)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var result = Tensor.Zeros(ToDType(tensor.dtype, name), tensor.shape);
        if (result.Length == 0)
        {
            return result;
        }

        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            tensor.bytes.CopyTo(result.AsBytes());
        }
        else
        {
            using var cpu = tensor.detach().cpu().contiguous();
            cpu.bytes.CopyTo(result.AsBytes());
        }

        return result;
    }

    private static string Describe(TorchTensor tensor) => $"{ToDType(tensor.dtype)}[{string.Join(",", tensor.shape)}]";

    private static DType ToDType(torch.ScalarType type, string name = "tensor") => type switch
    {
        torch.ScalarType.Float32 => DType.Float32,
        torch.ScalarType.Float64 => DType.Float64,
        torch.ScalarType.Float16 => DType.Float16,
        torch.ScalarType.Int8 => DType.Int8,
        torch.ScalarType.Int16 => DType.Int16,
        torch.ScalarType.Int32 => DType.Int32,
        torch.ScalarType.Int64 => DType.Int64,
        torch.ScalarType.Byte => DType.UInt8,
        torch.ScalarType.Bool => DType.Bool,
        _ => throw new NotSupportedException($"'{name}' has dtype {type}, which Federate's records do not hold; convert the module to float32, float64 or float16"),
    };
}
