using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federate.Core.Privacy;

/// <summary>
/// The privacy ledger of one client: two RDP accountants that persist across rounds (and, exported, across
/// restarts). The <b>sample-level</b> accountant composes every round's DP-SGD steps (sigma, q, T). The
/// <b>client-level</b> accountant bounds what the whole local dataset leaks through DP-SGD alone: a step's clipped
/// sum changes by at most n·C when the client's n examples are replaced, against noise sigma·C, so it is a Gaussian
/// mechanism with noise multiplier sigma/n and no sampling amplification (docs/privacy.md). Thread-safe.
/// </summary>
public sealed class ClientPrivacyState
{
    private readonly Lock _lock = new();
    private RdpAccountant _sample = new();
    private RdpAccountant _user = new();

    /// <summary>Creates an empty ledger for the given delta.</summary>
    public ClientPrivacyState(double delta)
    {
        if (!(delta > 0 && delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "--delta must be in (0, 1).");
        }

        Delta = delta;
    }

    /// <summary>The delta of every epsilon this ledger reports.</summary>
    public double Delta { get; }

    /// <summary>Rounds recorded.</summary>
    public int Rounds { get; private set; }

    /// <summary>The cumulative sample-level epsilon so far (0 before the first round).</summary>
    public double Epsilon
    {
        get
        {
            lock (_lock)
            {
                return _sample.History.Count == 0 ? 0 : _sample.GetEpsilon(Delta);
            }
        }
    }

    /// <summary>The cumulative sample-level epsilon if <paramref name="round"/> were recorded now (nothing changes).</summary>
    public double ProjectEpsilon(DpSgdRound round)
    {
        lock (_lock)
        {
            var copy = RdpAccountant.ImportState(_sample.ExportState());
            copy.Step(round.NoiseMultiplier, round.SampleRate, round.Steps);
            return copy.GetEpsilon(Delta);
        }
    }

    /// <summary>Records a round of training and returns what has been spent.</summary>
    public ClientPrivacySpent Record(DpSgdRound round)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(round.Examples, 1, nameof(round));
        var alone = new RdpAccountant();
        alone.Step(round.NoiseMultiplier, round.SampleRate, round.Steps);
        double roundEpsilon = alone.GetEpsilon(Delta);
        lock (_lock)
        {
            _sample.Step(round.NoiseMultiplier, round.SampleRate, round.Steps);
            _user.Step(round.NoiseMultiplier / round.Examples, 1.0, round.Steps);
            Rounds++;
            return new ClientPrivacySpent(_sample.GetEpsilon(Delta), roundEpsilon, _user.GetEpsilon(Delta));
        }
    }

    /// <summary>The ledger as JSON (exact round trip with <see cref="Import"/>), for a long-lived client to persist.</summary>
    public string Export()
    {
        lock (_lock)
        {
            var node = new JsonObject
            {
                ["delta"] = Delta,
                ["rounds"] = Rounds,
                ["sample"] = JsonNode.Parse(_sample.ExportState()),
                ["user"] = JsonNode.Parse(_user.ExportState()),
            };
            return node.ToJsonString();
        }
    }

    /// <summary>
    /// Writes the ledger to <paramref name="path"/> atomically (temporary file, flush, rename), so a long-lived client
    /// that crashes keeps either the old or the new ledger, never a torn one.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(Export());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, full, overwrite: true);
    }

    /// <summary>
    /// Loads the ledger saved at <paramref name="path"/>, or creates an empty one for <paramref name="delta"/> when the
    /// file does not exist. A saved ledger with another delta is refused (its epsilons would not compare).
    /// </summary>
    public static ClientPrivacyState LoadOrCreate(string path, double delta)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            return new ClientPrivacyState(delta);
        }

        var state = Import(File.ReadAllText(path));
        if (state.Delta != delta)
        {
            throw new InvalidDataException($"the privacy ledger {path} was kept at delta {state.Delta}, not {delta}; use --delta {state.Delta} or another ledger");
        }

        return state;
    }

    /// <summary>Restores a ledger written by <see cref="Export"/>; <see cref="FormatException"/> when invalid.</summary>
    public static ClientPrivacyState Import(string json)
    {
        try
        {
            var node = JsonNode.Parse(json) ?? throw new FormatException("empty privacy state");
            var state = new ClientPrivacyState(node["delta"]!.GetValue<double>())
            {
                Rounds = node["rounds"]!.GetValue<int>(),
            };
            state._sample = RdpAccountant.ImportState(node["sample"]!.ToJsonString());
            state._user = RdpAccountant.ImportState(node["user"]!.ToJsonString());
            return state;
        }
        catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new FormatException($"invalid client privacy state: {ex.Message}", ex);
        }
    }
}
