using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Federate.State;

/// <summary>
/// The server's state directory: a SQLite database (WAL mode) with runs, rounds, nodes, an append-only events log,
/// metrics history, the privacy ledger (strategy and accountant state per round) and a checkpoint index, plus the
/// checkpoint files (safetensors, written atomically, SHA-256 recorded in the index).
/// </summary>
public sealed class StateStore : IDisposable
{
    /// <summary>The schema version this build writes.</summary>
    public const int CurrentSchemaVersion = 3;

    private static readonly string[][] Migrations =
    [
        // 1: the initial schema.
        [
            """
            CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT NOT NULL, fingerprint TEXT NOT NULL, config_json TEXT NOT NULL,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL, rounds_done INTEGER NOT NULL DEFAULT 0,
                stop_reason TEXT, stop_detail TEXT, history_json TEXT)
            """,
            "CREATE TABLE rounds (run_id TEXT NOT NULL, round INTEGER NOT NULL, results INTEGER NOT NULL, failures INTEGER NOT NULL, seconds REAL NOT NULL, completed_at TEXT NOT NULL, PRIMARY KEY (run_id, round))",
            "CREATE TABLE nodes (run_id TEXT NOT NULL, node_id INTEGER NOT NULL, first_round INTEGER NOT NULL, last_round INTEGER NOT NULL, replies INTEGER NOT NULL, PRIMARY KEY (run_id, node_id))",
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
            "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
            "CREATE TABLE metrics (run_id TEXT NOT NULL, round INTEGER NOT NULL, record_json TEXT NOT NULL, PRIMARY KEY (run_id, round))",
            "CREATE TABLE privacy_ledger (run_id TEXT NOT NULL, round INTEGER NOT NULL, state_json TEXT, PRIMARY KEY (run_id, round))",
            "CREATE TABLE checkpoints (run_id TEXT NOT NULL, round INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (run_id, round))",
        ],

        // 2: server generations (node ids of a resumed run start above the earlier processes' ones).
        [
            "ALTER TABLE runs ADD COLUMN generation INTEGER NOT NULL DEFAULT 1",
        ],

        // 3: strategy state tensors (safetensors beside the checkpoint, SHA-256 recorded).
        [
            "ALTER TABLE checkpoints ADD COLUMN state_path TEXT",
            "ALTER TABLE checkpoints ADD COLUMN state_sha256 TEXT",
        ],
    ];

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private SqliteTransaction? _transaction;

    private StateStore(string directory, SqliteConnection connection)
    {
        Directory = directory;
        _connection = connection;
    }

    /// <summary>The state directory.</summary>
    public string Directory { get; }

    /// <summary>
    /// How many of a run's newest round checkpoints to keep; older ones are dropped from the index and deleted after
    /// each new checkpoint is committed, and the newest dropped file is rewritten in place by the next checkpoint.
    /// 0 (the default) keeps every checkpoint.
    /// </summary>
    public int KeepCheckpoints
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.Combine(Directory, "state.db");

    /// <summary>Opens (creating if needed) the state directory and migrates its database to the current schema.</summary>
    public static StateStore Open(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(full, "state.db"), Pooling = false }.ToString());
        connection.Open();
        var store = new StateStore(full, connection);
        try
        {
            store.Execute("PRAGMA journal_mode=WAL");
            store.Execute("PRAGMA synchronous=FULL");
            store.Execute("PRAGMA busy_timeout=5000");
            store.Migrate();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    /// <summary>The database's schema version.</summary>
    public int SchemaVersion => (int)(long)Scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version")!;

    /// <summary>SQLite's journal mode ("wal").</summary>
    public string JournalMode => (string)Scalar("PRAGMA journal_mode")!;

    /// <summary>
    /// Opens the state database of an existing state directory (to read its runs while a server or simulation may be
    /// using it); throws <see cref="ArgumentException"/> with one line when there is none.
    /// </summary>
    public static StateStore OpenExisting(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var database = Path.Combine(directory, "state.db");
        if (!File.Exists(database))
        {
            throw new ArgumentException($"no state database in '{directory}' (expected {database})");
        }

        return Open(directory);
    }

    /// <summary>One run by id or unique id prefix; throws <see cref="KeyNotFoundException"/> with one line when there is none.</summary>
    public RunRow RequireRun(string id) =>
        GetRun(id) ?? throw new KeyNotFoundException($"no run '{id}' in {Directory} (or the prefix is ambiguous); see the list of runs");

    /// <summary>The most recent run still marked running, if any.</summary>
    public RunRow? FindUnfinished() => QueryRuns("WHERE status = 'running' ORDER BY created_at DESC, rowid DESC LIMIT 1").FirstOrDefault();

    /// <summary>The most recent run with this settings fingerprint, of any status, if any.</summary>
    public RunRow? FindLatest(string fingerprint) => QueryRuns("WHERE fingerprint = $p ORDER BY created_at DESC, rowid DESC LIMIT 1", fingerprint).FirstOrDefault();

    /// <summary>The settings a run was started with (its history.json config).</summary>
    public IReadOnlyDictionary<string, object?> Config(string runId)
    {
        string? json;
        lock (_lock)
        {
            json = Scalar("SELECT config_json FROM runs WHERE id = $r", ("$r", runId)) as string;
        }

        return json is null ? new Dictionary<string, object?>() : HistoryJson.Parse(json).Config;
    }

    /// <summary>
    /// SQLite's quick integrity check of the database; throws <see cref="InvalidDataException"/> with the first
    /// problem when the file is damaged.
    /// </summary>
    public void CheckIntegrity()
    {
        var result = Scalar("PRAGMA quick_check") as string;
        if (!string.Equals(result, "ok", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"the state database {DatabasePath} is damaged ({result}); move the state directory aside to start afresh, or restore state.db from a backup");
        }
    }

    /// <summary>All runs, newest first.</summary>
    public IReadOnlyList<RunRow> ListRuns() => QueryRuns("ORDER BY created_at DESC, rowid DESC");

    /// <summary>One run, or null. A unique prefix of the id is enough.</summary>
    public RunRow? GetRun(string id)
    {
        var exact = QueryRuns("WHERE id = $p", id);
        if (exact.Count == 1)
        {
            return exact[0];
        }

        var prefixed = QueryRuns("WHERE id LIKE $p || '%'", id);
        return prefixed.Count == 1 ? prefixed[0] : null;
    }

    /// <summary>Records a new run with its settings (the config of its history.json).</summary>
    public void CreateRun(string id, string fingerprint, IReadOnlyDictionary<string, object?> config)
    {
        var configJson = HistoryJson.Serialize(new RunHistory { RunId = id, Config = config });
        lock (_lock)
        {
            var now = Now();
            Execute("INSERT INTO runs (id, status, fingerprint, config_json, created_at, updated_at) VALUES ($id, 'running', $f, $c, $now, $now)", ("$id", id), ("$f", fingerprint), ("$c", configJson), ("$now", now));
        }

        AppendEvent(id, "run_started", $"run {id} started");
    }

    /// <summary>Marks a run taken up again by a new server process; returns its new generation (2, 3, ...).</summary>
    public int BeginGeneration(string id)
    {
        lock (_lock)
        {
            Execute("UPDATE runs SET generation = generation + 1, updated_at = $now WHERE id = $id", ("$id", id), ("$now", Now()));
            return (int)(long)Scalar("SELECT generation FROM runs WHERE id = $id", ("$id", id))!;
        }
    }

    /// <summary>Marks a run that will never be resumed (a restart with different settings).</summary>
    public void Abandon(string id, string detail)
    {
        lock (_lock)
        {
            Execute("UPDATE runs SET status = 'abandoned', stop_detail = $d, updated_at = $now WHERE id = $id", ("$id", id), ("$d", detail), ("$now", Now()));
        }

        AppendEvent(id, "run_abandoned", detail);
    }

    /// <summary>Appends to the events log (rows are never updated or deleted; triggers enforce it).</summary>
    public void AppendEvent(string runId, string kind, string detail)
    {
        lock (_lock)
        {
            Execute("INSERT INTO events (run_id, at, kind, detail) VALUES ($r, $at, $k, $d)", ("$r", runId), ("$at", Now()), ("$k", kind), ("$d", detail));
        }
    }

    /// <summary>The events of a run in order (all runs when <paramref name="runId"/> is null).</summary>
    public IReadOnlyList<EventRow> Events(string? runId = null)
    {
        lock (_lock)
        {
            using var cmd = Command(runId is null ? "SELECT id, run_id, at, kind, detail FROM events ORDER BY id" : "SELECT id, run_id, at, kind, detail FROM events WHERE run_id = $r ORDER BY id", ("$r", runId));
            using var reader = cmd.ExecuteReader();
            var list = new List<EventRow>();
            while (reader.Read())
            {
                list.Add(new EventRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
            }

            return list;
        }
    }

    /// <summary>Records the nodes that replied in a round (one entry per reply), in one transaction.</summary>
    public void RecordNodeReplies(string runId, int round, IReadOnlyList<long> nodeIds)
    {
        ArgumentNullException.ThrowIfNull(nodeIds);
        if (nodeIds.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            _transaction = tx;
            try
            {
                foreach (var nodeId in nodeIds)
                {
                    Execute(
                        "INSERT INTO nodes (run_id, node_id, first_round, last_round, replies) VALUES ($r, $n, $round, $round, 1) ON CONFLICT(run_id, node_id) DO UPDATE SET last_round = MAX(last_round, $round), replies = replies + 1",
                        ("$r", runId), ("$n", nodeId), ("$round", round));
                }

                tx.Commit();
            }
            finally
            {
                _transaction = null;
            }
        }
    }

    /// <summary>
    /// Saves a completed round: the checkpoint file first (atomically: temporary file, flush, rename), then in one
    /// transaction the round, its metrics, the strategy/privacy state and the checkpoint index entry with the
    /// file's SHA-256. A crash before the commit leaves the round uncompleted (it is run again on resume).
    /// <paramref name="stateTensors"/> (a strategy's tensor state) go to a second safetensors file,
    /// <c>round-N.state.safetensors</c>, written block by block, its SHA-256 recorded beside the checkpoint's.
    /// </summary>
    public string SaveRound(string runId, RoundRecord record, ArrayRecord global, string? strategyState, IReadOnlyDictionary<string, string>? metadata = null, IReadOnlyList<Federate.Core.Strategies.StateTensor>? stateTensors = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(global);
        var folder = Path.Combine(Directory, "checkpoints", SafeName(runId));
        System.IO.Directory.CreateDirectory(folder);
        var relative = Path.Combine("checkpoints", SafeName(runId), string.Create(CultureInfo.InvariantCulture, $"round-{record.Round:D5}.safetensors"));
        var path = Path.Combine(Directory, relative);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["run_id"] = runId, ["round"] = record.Round.ToString(CultureInfo.InvariantCulture) };
        var reuse = ReusePath(runId);
        var (hash, bytes) = Safetensors.WriteFileWithSha256(path, global, meta, KeepCheckpoints > 0 ? reuse : null);
        string? stateRelative = null;
        string? stateHash = null;
        if (stateTensors is { Count: > 0 })
        {
            stateRelative = Path.Combine("checkpoints", SafeName(runId), string.Create(CultureInfo.InvariantCulture, $"round-{record.Round:D5}.state.safetensors"));
            (stateHash, _) = Federate.Core.Formats.StateTensorFile.Write(Path.Combine(Directory, stateRelative), stateTensors, meta);
        }

        var recordJson = HistoryJson.Serialize(new RunHistory { RunId = runId, Rounds = { record } });
        Federate.Core.Diagnostics.FaultPoints.Reach("checkpoint-file", record.Round);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            _transaction = tx;
            try
            {
                var now = Now();
                Execute("INSERT OR REPLACE INTO rounds (run_id, round, results, failures, seconds, completed_at) VALUES ($r, $n, $res, $f, $s, $now)",
                    ("$r", runId), ("$n", record.Round), ("$res", record.Results), ("$f", record.Failures.Count), ("$s", record.Seconds), ("$now", now));
                Execute("INSERT OR REPLACE INTO metrics (run_id, round, record_json) VALUES ($r, $n, $j)", ("$r", runId), ("$n", record.Round), ("$j", recordJson));
                Execute("INSERT OR REPLACE INTO privacy_ledger (run_id, round, state_json) VALUES ($r, $n, $j)", ("$r", runId), ("$n", record.Round), ("$j", strategyState));
                Execute("INSERT OR REPLACE INTO checkpoints (run_id, round, path, sha256, bytes, created_at, state_path, state_sha256) VALUES ($r, $n, $p, $h, $b, $now, $sp, $sh)",
                    ("$r", runId), ("$n", record.Round), ("$p", relative), ("$h", hash), ("$b", bytes), ("$now", now), ("$sp", stateRelative), ("$sh", stateHash));
                Execute("INSERT INTO events (run_id, at, kind, detail) VALUES ($r, $now, 'round_completed', $d)", ("$r", runId), ("$now", now), ("$d", $"round {record.Round} checkpointed ({bytes} bytes, sha256 {hash[..12]})"));
                Execute("UPDATE runs SET rounds_done = $n, updated_at = $now WHERE id = $r", ("$r", runId), ("$n", record.Round), ("$now", now));
                tx.Commit();
            }
            finally
            {
                _transaction = null;
            }
        }

        Federate.Core.Diagnostics.FaultPoints.Reach("checkpoint-commit", record.Round);
        if (KeepCheckpoints > 0)
        {
            Prune(runId, reuse);
        }

        return path;
    }

    // A pruned checkpoint kept for the next checkpoint to rewrite in place. Not named round-*.safetensors, so it is
    // never taken for a checkpoint the database does not know.
    private string ReusePath(string runId) => Path.Combine(Directory, "checkpoints", SafeName(runId), "reuse.tmp");

    /// <summary>
    /// Drops all but the newest <see cref="KeepCheckpoints"/> checkpoints of a run: their rows first (in one
    /// transaction, so a crash never leaves an index entry without its file), then their files; the newest dropped
    /// model file becomes <paramref name="reuse"/>.
    /// </summary>
    private void Prune(string runId, string reuse)
    {
        List<(int Round, string Path, string? StatePath)> dropped = [];
        lock (_lock)
        {
            using (var cmd = Command("SELECT round, path, state_path FROM checkpoints WHERE run_id = $r ORDER BY round DESC", ("$r", runId)))
            using (var reader = cmd.ExecuteReader())
            {
                int seen = 0;
                while (reader.Read())
                {
                    if (++seen > KeepCheckpoints)
                    {
                        dropped.Add((reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
                    }
                }
            }

            if (dropped.Count == 0)
            {
                return;
            }

            using var tx = _connection.BeginTransaction();
            _transaction = tx;
            try
            {
                foreach (var (round, _, _) in dropped)
                {
                    Execute("DELETE FROM checkpoints WHERE run_id = $r AND round = $n", ("$r", runId), ("$n", round));
                }

                tx.Commit();
            }
            finally
            {
                _transaction = null;
            }
        }

        bool reused = File.Exists(reuse);
        foreach (var (_, relative, stateRelative) in dropped)
        {
            var file = Path.Combine(Directory, relative);
            if (!reused && File.Exists(file))
            {
                File.Move(file, reuse, overwrite: true);
                reused = true;
            }
            else
            {
                File.Delete(file);
            }

            if (stateRelative is not null)
            {
                File.Delete(Path.Combine(Directory, stateRelative));
            }
        }
    }

    /// <summary>
    /// The newest checkpoint of a run whose file matches its recorded SHA-256, with the rounds up to it; a missing,
    /// truncated or corrupted file is reported through <paramref name="warn"/> (and the events log) and the previous
    /// checkpoint is tried. Null when none is usable (the run starts again from round 1).
    /// </summary>
    public Checkpoint? LoadLatestCheckpoint(string runId, Action<string>? warn = null)
    {
        List<(int Round, string Path, string Hash, string? StatePath, string? StateHash)> entries = [];
        lock (_lock)
        {
            using var cmd = Command("SELECT round, path, sha256, state_path, state_sha256 FROM checkpoints WHERE run_id = $r ORDER BY round DESC", ("$r", runId));
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                entries.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }
        }

        foreach (var (round, relative, expected, stateRelative, stateExpected) in entries)
        {
            var path = Path.Combine(Directory, relative);
            string? problem = null;
            if (!File.Exists(path))
            {
                problem = "the file is missing";
            }
            else if (Hash(path).Hash != expected)
            {
                problem = "its SHA-256 does not match the index (truncated or corrupted)";
            }
            else if (stateRelative is not null && !File.Exists(Path.Combine(Directory, stateRelative)))
            {
                problem = "its strategy state file is missing";
            }
            else if (stateRelative is not null && Hash(Path.Combine(Directory, stateRelative)).Hash != stateExpected)
            {
                problem = "its strategy state file's SHA-256 does not match the index (truncated or corrupted)";
            }

            ArrayRecord? parameters = null;
            if (problem is null)
            {
                try
                {
                    parameters = Safetensors.ReadFile(path, out _);
                }
                catch (Exception ex) when (ex is FormatException or IOException or InvalidDataException)
                {
                    problem = $"it cannot be read: {ex.Message}";
                }
            }

            if (problem is not null || parameters is null)
            {
                var message = $"checkpoint of round {round} ({relative}) is unusable: {problem}; falling back to the previous one";
                warn?.Invoke(message);
                AppendEvent(runId, "checkpoint_corrupt", message);
                continue;
            }

            return new Checkpoint(round, parameters, StrategyStateAt(runId, round), Rounds(runId, round), stateRelative is null ? null : Path.Combine(Directory, stateRelative));
        }

        return null;
    }

    /// <summary>The completed rounds of a run (up to <paramref name="upTo"/>), in order.</summary>
    public IReadOnlyList<RoundRecord> Rounds(string runId, int upTo = int.MaxValue)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT record_json FROM metrics WHERE run_id = $r AND round <= $n ORDER BY round", ("$r", runId), ("$n", upTo));
            using var reader = cmd.ExecuteReader();
            var list = new List<RoundRecord>();
            while (reader.Read())
            {
                list.Add(HistoryJson.Parse(reader.GetString(0)).Rounds[0]);
            }

            return list;
        }
    }

    /// <summary>The strategy/privacy state recorded after a round.</summary>
    public string? StrategyStateAt(string runId, int round)
    {
        lock (_lock)
        {
            return Scalar("SELECT state_json FROM privacy_ledger WHERE run_id = $r AND round = $n", ("$r", runId), ("$n", round)) as string;
        }
    }

    /// <summary>Marks the run finished with its final history.</summary>
    public void FinishRun(string runId, RunHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        lock (_lock)
        {
            Execute("UPDATE runs SET status = 'finished', stop_reason = $s, stop_detail = $d, history_json = $h, updated_at = $now WHERE id = $r",
                ("$r", runId), ("$s", history.StopReason), ("$d", history.StopDetail), ("$h", HistoryJson.Serialize(history)), ("$now", Now()));
        }

        AppendEvent(runId, "run_finished", history.StopDetail ?? history.StopReason ?? "finished");
        Federate.Core.Diagnostics.FaultPoints.Reach("finished");
    }

    /// <summary>
    /// A run's history (history.json): the final one of a finished run, otherwise its config and completed rounds.
    /// </summary>
    public RunHistory? History(string runId)
    {
        string? final;
        string? configJson;
        lock (_lock)
        {
            final = Scalar("SELECT history_json FROM runs WHERE id = $r", ("$r", runId)) as string;
            configJson = Scalar("SELECT config_json FROM runs WHERE id = $r", ("$r", runId)) as string;
        }

        if (final is not null)
        {
            return HistoryJson.Parse(final);
        }

        if (configJson is null)
        {
            return null;
        }

        var history = HistoryJson.Parse(configJson);
        history.Rounds.AddRange(Rounds(runId));
        return history;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _connection.Dispose();
        SqliteConnection.ClearAllPools();
    }

    internal static string SafeName(string id) => string.Concat(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));

    private static (string Hash, long Bytes) Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return (Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length);
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private void Migrate()
    {
        lock (_lock)
        {
            Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
            int current = SchemaVersion;
            if (current > CurrentSchemaVersion)
            {
                throw new InvalidOperationException($"the state database {DatabasePath} has schema version {current}, newer than this build's {CurrentSchemaVersion}");
            }

            for (int version = current + 1; version <= CurrentSchemaVersion; version++)
            {
                using var tx = _connection.BeginTransaction();
                _transaction = tx;
                try
                {
                    foreach (var sql in Migrations[version - 1])
                    {
                        Execute(sql);
                    }

                    Execute("INSERT INTO schema_version (version, applied_at) VALUES ($v, $now)", ("$v", version), ("$now", Now()));
                    tx.Commit();
                }
                finally
                {
                    _transaction = null;
                }
            }
        }
    }

    private List<RunRow> QueryRuns(string where, string? p = null)
    {
        lock (_lock)
        {
            using var cmd = Command($"SELECT id, status, rounds_done, stop_reason, stop_detail, fingerprint, generation, created_at FROM runs {where}", ("$p", p));
            using var reader = cmd.ExecuteReader();
            var list = new List<RunRow>();
            while (reader.Read())
            {
                list.Add(new RunRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetString(7)));
            }

            return list;
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _transaction;
        foreach (var (name, value) in parameters)
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }
        }

        return cmd;
    }

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        var value = cmd.ExecuteScalar();
        return value is DBNull ? null : value;
    }
}
