using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federate.Core.Privacy;

/// <summary>
/// Client privacy ledgers by key (a partition id in simulation, where client apps are created per message; a
/// long-lived client process keeps one). Ledgers persist for the life of the store.
/// </summary>
public sealed class ClientPrivacyStore : IDurableState
{
    private readonly ConcurrentDictionary<string, ClientPrivacyState> _states = new(StringComparer.Ordinal);
    private readonly double _delta;

    /// <summary>Creates a store whose new ledgers use <paramref name="delta"/>.</summary>
    public ClientPrivacyStore(double delta)
    {
        _ = new ClientPrivacyState(delta); // validates
        _delta = delta;
    }

    /// <summary>The ledger for <paramref name="key"/>, created empty on first use.</summary>
    public ClientPrivacyState Get(string key) => _states.GetOrAdd(key, _ => new ClientPrivacyState(_delta));

    /// <summary>The ledger of partition <paramref name="partitionId"/>.</summary>
    public ClientPrivacyState Get(int partitionId) => Get(partitionId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <inheritdoc />
    public string Name => "client-privacy-ledgers";

    /// <summary>Every client's ledger, by key, as JSON.</summary>
    public string Export()
    {
        var node = new JsonObject();
        foreach (var (key, state) in _states.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            node[key] = JsonNode.Parse(state.Export());
        }

        return node.ToJsonString();
    }

    /// <summary>Replaces every ledger with the ones of <see cref="Export"/>.</summary>
    /// <exception cref="FormatException">The text is not an export of a store.</exception>
    public void Import(string state)
    {
        JsonObject node;
        try
        {
            node = JsonNode.Parse(state) as JsonObject ?? throw new FormatException("invalid client privacy ledgers: not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"invalid client privacy ledgers: {ex.Message}", ex);
        }

        _states.Clear();
        foreach (var (key, value) in node)
        {
            _states[key] = ClientPrivacyState.Import(value?.ToJsonString() ?? "null");
        }
    }
}
