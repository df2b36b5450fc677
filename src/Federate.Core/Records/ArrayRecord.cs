namespace Federate.Core.Records;

/// <summary>Ordered, named tensors: the parameters of a model or any other array payload of a message.</summary>
public sealed class ArrayRecord : OrderedRecord<Tensor>
{
    /// <summary>Creates an empty record.</summary>
    public ArrayRecord()
    {
    }

    /// <summary>Creates a record from name/tensor pairs, keeping their order.</summary>
    public ArrayRecord(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var pair in tensors)
        {
            Add(pair.Key, pair.Value);
        }
    }

    /// <summary>Names in order.</summary>
    public IReadOnlyList<string> Names => Keys;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => this.Sum(kv => kv.Value.Length);

    /// <summary>Total size of all tensors in bytes.</summary>
    public long ByteLength => this.Sum(kv => kv.Value.ByteLength);

    /// <summary>The tensor with this name.</summary>
    public Tensor this[string name] => Get(name);

    /// <summary>Adds a tensor at the end.</summary>
    public void Add(string name, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!TryAdd(name, tensor))
        {
            throw new ArgumentException($"The record already has a tensor named '{name}'.", nameof(name));
        }
    }

    /// <summary>A deep copy.</summary>
    public ArrayRecord Clone() => new(this.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.Clone())));

    /// <summary>
    /// Checks that <paramref name="other"/> has the same names, dtypes and shapes in the same order; returns a
    /// one-line description of the first difference, or null when they match.
    /// </summary>
    public string? DescribeLayoutMismatch(ArrayRecord other)
    {
        if (other.Count != Count)
        {
            return $"expected {Count} tensors, got {other.Count}";
        }

        for (int i = 0; i < Count; i++)
        {
            var name = Keys[i];
            if (other.Keys[i] != name)
            {
                return $"tensor {i} should be named '{name}', got '{other.Keys[i]}'";
            }

            var a = Get(name);
            var b = other.Get(name);
            if (!a.HasSameLayout(b))
            {
                return $"tensor '{name}' should be {a}, got {b}";
            }
        }

        return null;
    }

    /// <inheritdoc />
    protected override string DescribeMissing(string key) => $"The record has no tensor named '{key}'.";
}
