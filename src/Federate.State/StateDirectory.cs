using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Federate.Core;

namespace Federate.State;

/// <summary>
/// A state directory as the durability of runs (<see cref="IRunDurability"/>): a restart with the same settings
/// resumes the unfinished run from its last checkpoint; every completed round is checkpointed before the next starts.
/// The directory is locked for as long as this object lives (an OS lock that dies with the process, so a
/// <c>kill -9</c> leaves no stale lock); a second process on the same directory is refused with one line.
/// Used alike by <c>federate sim --state-dir</c> and <c>federate server --state-dir</c>.
/// </summary>
public sealed class StateDirectory : IRunDurability, IDisposable
{
    private readonly FileStream _lock;
    private readonly Action<string> _log;
    private IReadOnlyList<IDurableState> _parts = [];

    private StateDirectory(StateStore store, FileStream directoryLock, Action<string>? log)
    {
        Store = store;
        _lock = directoryLock;
        _log = log ?? (_ => { });
    }

    /// <summary>The store (runs, events, checkpoints).</summary>
    public StateStore Store { get; }

    /// <summary>How many of a run's newest round checkpoints to keep (0, the default: all); see <see cref="StateStore.KeepCheckpoints"/>.</summary>
    public int KeepCheckpoints
    {
        get => Store.KeepCheckpoints;
        set => Store.KeepCheckpoints = value;
    }

    /// <summary>Metadata written into every checkpoint file's header.</summary>
    public IDictionary<string, string> CheckpointMetadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Opens (creating when missing) and locks <paramref name="directory"/>. <paramref name="log"/> receives the
    /// one-line <c>state:</c> messages (resuming, settings changed, unusable checkpoints).
    /// </summary>
    /// <exception cref="IOException">Another process holds the directory, or it cannot be created.</exception>
    public static StateDirectory Open(string directory, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        if (File.Exists(full))
        {
            throw new IOException($"the state directory '{directory}' is a file; give a folder (it is created when missing)");
        }

        Directory.CreateDirectory(full);
        var lockPath = Path.Combine(full, "lock");
        FileStream held;
        try
        {
            // FileShare.None is an advisory flock on Unix: released by the kernel when the process dies.
            held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var holder = SafeRead(Path.Combine(full, "lock.owner"));
            throw new IOException($"the state directory '{directory}' is in use by another process{(holder.Length > 0 ? $" ({holder})" : "")}; stop it first or give another --state-dir");
        }

        try
        {
            File.WriteAllText(Path.Combine(full, "lock.owner"), string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} since {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}"));
            StateStore store;
            try
            {
                store = StateStore.Open(full);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                throw new InvalidDataException($"the state database {Path.Combine(full, "state.db")} cannot be read ({SqliteProblem(ex)}); move the state directory aside to start afresh, or restore state.db from a backup", ex);
            }

            try
            {
                store.CheckIntegrity();
            }
            catch (Exception ex) when (ex is InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
            {
                store.Dispose();
                throw ex is InvalidDataException ? ex : new InvalidDataException($"the state database {store.DatabasePath} is damaged ({SqliteProblem((Microsoft.Data.Sqlite.SqliteException)ex)}); move the state directory aside to start afresh, or restore state.db from a backup", ex);
            }

            return new StateDirectory(store, held, log);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">
    /// An unfinished run was started with other settings (they are named); start with the same settings to resume it,
    /// or with <paramref name="newRun"/> to abandon it.
    /// </exception>
    /// <exception cref="InvalidDataException">The directory holds checkpoints its database does not know (it was deleted or damaged).</exception>
    public RunStart Begin(RunPlan plan, bool newRun = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var fingerprint = Fingerprint(plan);
        _parts = [.. plan.DurableState];
        var config = new Dictionary<string, object?>(plan.Config);
        var unfinished = Store.FindUnfinished();
        if (!newRun)
        {
            CheckCheckpointsAreIndexed(unfinished);
        }

        if (unfinished is not null && unfinished.Fingerprint != fingerprint)
        {
            if (!newRun)
            {
                throw new InvalidOperationException(
                    $"the state directory {Store.Directory} holds unfinished run {unfinished.Id} ({unfinished.RoundsDone} rounds done) started with other settings ({Differences(Store.Config(unfinished.Id), config)}); "
                    + "start with the same settings to resume it, or give 'new_run' to abandon it and start a new run");
            }
        }

        if (unfinished is not null && newRun)
        {
            Store.Abandon(unfinished.Id, "abandoned: a new run was asked for");
            _log($"state: run {unfinished.Id} ({unfinished.RoundsDone} rounds done) abandoned; starting a new run");
            unfinished = null;
        }

        if (unfinished is null)
        {
            if (!newRun && Store.FindLatest(fingerprint) is { Status: "finished" } done)
            {
                var history = Store.History(done.Id);
                _log($"state: run {done.Id} with these settings already finished ({done.StopReason}, {done.RoundsDone} rounds); give 'new_run' to start another");
                return new RunStart
                {
                    RunId = done.Id,
                    Generation = done.Generation,
                    FinishedHistory = history,
                    Parameters = Store.LoadLatestCheckpoint(done.Id, warning => _log($"state: warning: {warning}"))?.Parameters,
                };
            }

            var id = plan.Options.RunId;
            Store.CreateRun(id, fingerprint, config);
            return new RunStart { RunId = id, Generation = 1 };
        }

        int generation = Store.BeginGeneration(unfinished.Id);
        var checkpoint = Store.LoadLatestCheckpoint(unfinished.Id, warning => _log($"state: warning: {warning}"));
        int completed = checkpoint?.Round ?? 0;
        Store.AppendEvent(unfinished.Id, "run_resumed", $"process {generation} resumes after round {completed}");
        _log($"state: resuming run {unfinished.Id} after round {completed} from {Store.Directory}");
        var state = checkpoint?.StrategyState;
        var tensors = checkpoint?.StateTensorsPath;
        var parts = checkpoint is null ? null : ReadParts(unfinished.Id, checkpoint.Round);
        return new RunStart
        {
            RestoreState = parts is null ? null : () => RestoreParts(parts),
            RunId = unfinished.Id,
            Generation = generation,
            Parameters = checkpoint?.Parameters,
            Resume = checkpoint is null ? null : new RunResume(checkpoint.Rounds),
            RestoreStrategy = state is null && tensors is null ? null : strategy =>
            {
                StrategyState.Import(strategy, state);
                StrategyState.ImportTensors(strategy, tensors);
            },
        };
    }

    /// <inheritdoc />
    public IRunObserver Track(RunStart start, Strategy strategy, Func<bool> interrupted)
    {
        ArgumentNullException.ThrowIfNull(start);
        var checkpoints = new StateRunObserver(Store, start.RunId, strategy, new Dictionary<string, string>(CheckpointMetadata, StringComparer.Ordinal), interrupted);
        return _parts.Count == 0 ? checkpoints : new PartsObserver(this, start.RunId, checkpoints, interrupted);
    }

    // The plan's durable state parts of a round, written before the round's checkpoint is committed: a crash in
    // between leaves the round uncommitted (it runs again on resume and the file is written again).
    private string PartsPath(string runId, int round)
        => Path.Combine(Store.Directory, "checkpoints", StateStore.SafeName(runId), string.Create(CultureInfo.InvariantCulture, $"round-{round:D5}.state.json"));

    private void WriteParts(string runId, int round)
    {
        var node = new System.Text.Json.Nodes.JsonObject();
        foreach (var part in _parts)
        {
            node[part.Name] = part.Export();
        }

        var path = PartsPath(runId, round);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(node.ToJsonString()));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private Dictionary<string, string>? ReadParts(string runId, int round)
    {
        var path = PartsPath(runId, round);
        if (_parts.Count == 0)
        {
            return null;
        }

        if (!File.Exists(path))
        {
            throw new InvalidDataException($"the state directory has no saved run state for round {round} of run {runId} ({path} is missing); restore it, or start a new run with another --state-dir");
        }

        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)) as System.Text.Json.Nodes.JsonObject;
            return node?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal)
                ?? throw new InvalidDataException($"{path} is not a run state file");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidDataException($"{path} is corrupt ({ex.Message}); restore it, or start a new run with another --state-dir", ex);
        }
    }

    private void RestoreParts(Dictionary<string, string> saved)
    {
        foreach (var part in _parts)
        {
            if (saved.TryGetValue(part.Name, out var text))
            {
                part.Import(text);
            }
        }
    }

    private sealed class PartsObserver(StateDirectory owner, string runId, IRunObserver inner, Func<bool> interrupted) : IRunObserver
    {
        public void OnReply(int round, MessageType phase, Message reply) => inner.OnReply(round, phase, reply);

        public ValueTask OnRoundCompletedAsync(RoundRecord record, ArrayRecord global, CancellationToken cancellationToken)
        {
            if (!interrupted())
            {
                owner.WriteParts(runId, record.Round);
            }

            return inner.OnRoundCompletedAsync(record, global, cancellationToken);
        }

        public ValueTask OnRunFinishedAsync(RunHistory history, ArrayRecord global, CancellationToken cancellationToken) => inner.OnRunFinishedAsync(history, global, cancellationToken);
    }

    /// <summary>
    /// The settings that must match for a restart to resume a run: the recorded config, the train config, the minimum
    /// nodes and results, and the target.
    /// </summary>
    public static string Fingerprint(RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var run = plan.Options;
        var text = HistoryJson.Serialize(new RunHistory { RunId = "", Config = new Dictionary<string, object?>(plan.Config) })
            + string.Join(';', run.TrainConfig.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))
            + string.Create(CultureInfo.InvariantCulture, $";{run.MinNodes};{run.MinResults};{run.Target}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Store.Dispose();
        _lock.Dispose();
    }

    // Checkpoint folders of runs the database does not know, or several checkpoint files past the unfinished run's
    // last indexed round (one can be a crash between the file and its commit; more means the database lost rounds).
    private void CheckCheckpointsAreIndexed(RunRow? unfinished)
    {
        var root = Path.Combine(Store.Directory, "checkpoints");
        if (!Directory.Exists(root))
        {
            return;
        }

        var known = Store.ListRuns().Select(r => StateStore.SafeName(r.Id)).ToHashSet(StringComparer.Ordinal);
        foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            if (!known.Contains(name) && Directory.EnumerateFiles(folder, "round-*.safetensors").Any())
            {
                throw new InvalidDataException($"the state directory {Store.Directory} has checkpoints of run {name} that its database does not know (state.db was deleted, reset or damaged); restore state.db, or give 'new_run' to start a new run (the old checkpoints stay)");
            }
        }

        if (unfinished is null)
        {
            return;
        }

        var mine = Path.Combine(root, StateStore.SafeName(unfinished.Id));
        int unindexed = !Directory.Exists(mine) ? 0 : Directory.EnumerateFiles(mine, "round-*.safetensors")
            .Select(f => int.TryParse(Path.GetFileNameWithoutExtension(f).AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0)
            .Count(r => r > unfinished.RoundsDone);
        if (unindexed >= 2)
        {
            throw new InvalidDataException($"the state database of {Store.Directory} lost rounds of run {unfinished.Id}: it records {unfinished.RoundsDone} rounds but {unindexed} later checkpoints exist (was the write-ahead log deleted or zeroed?); restore state.db and state.db-wal, or give 'new_run' to start a new run");
        }
    }

    private static string Differences(IReadOnlyDictionary<string, object?> before, IReadOnlyDictionary<string, object?> now)
    {
        static string Show(object? v)
        {
            var text = v is System.Text.Json.JsonElement e ? (e.ValueKind == System.Text.Json.JsonValueKind.String ? e.GetString() : e.GetRawText()) : Convert.ToString(v, CultureInfo.InvariantCulture);
            return string.IsNullOrEmpty(text) || text == "null" ? "none" : text;
        }

        var changed = before.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(k => Show(before.GetValueOrDefault(k)) != Show(now.GetValueOrDefault(k)))
            .Select(k => $"{k} {Show(before.GetValueOrDefault(k))} -> {Show(now.GetValueOrDefault(k))}")
            .ToList();
        return changed.Count == 0 ? "the round configuration or minimum nodes differ" : string.Join(", ", changed);
    }

    private static string SqliteProblem(Microsoft.Data.Sqlite.SqliteException ex)
    {
        var text = ex.Message;
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        return (colon > 0 && text.StartsWith("SQLite Error", StringComparison.Ordinal) ? text[(colon + 2)..] : text).Trim().Trim('\'', '.');
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
