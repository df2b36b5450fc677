using System.Collections;

namespace Federate.Core.Records;

/// <summary>Ordered, named tensors: the parameters of a model or any other array payload of a message.</summary>
public sealed class ArrayRecord : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    /// <summary>Creates an empty record.</summary>
    public ArrayRecord()
    {
    }

    /// <summary>Creates a record from name/tensor pairs, keeping their order.</summary>
    public ArrayRecord(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, tensor) in tensors)
        {
            Add(name, tensor);
        }
    }

    /// <summary>Number of tensors.</summary>
    public int Count => _order.Count;

    /// <summary>Names in order.</summary>
    public IReadOnlyList<string> Names => _order;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => _tensors.Values.Sum(t => t.Length);

    /// <summary>Total size of all tensors in bytes.</summary>
    public long ByteLength => _tensors.Values.Sum(t => t.ByteLength);

    /// <summary>The tensor with this name.</summary>
    public Tensor this[string name] => _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"The record has no tensor named '{name}'.");

    /// <summary>Adds a tensor at the end.</summary>
    public void Add(string name, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_tensors.TryAdd(name, tensor))
        {
            throw new ArgumentException($"The record already has a tensor named '{name}'.", nameof(name));
        }

        _order.Add(name);
    }

    /// <summary>Looks up a tensor by name.</summary>
    public bool TryGetValue(string name, out Tensor tensor) => _tensors.TryGetValue(name, out tensor!);

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

        for (int i = 0; i < _order.Count; i++)
        {
            var name = _order[i];
            if (other._order[i] != name)
            {
                return $"tensor {i} should be named '{name}', got '{other._order[i]}'";
            }

            var a = _tensors[name];
            var b = other._tensors[name];
            if (!a.HasSameLayout(b))
            {
                return $"tensor '{name}' should be {a}, got {b}";
            }
        }

        return null;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (var name in _order)
        {
            yield return new KeyValuePair<string, Tensor>(name, _tensors[name]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
