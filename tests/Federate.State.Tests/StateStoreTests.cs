using Federate.Core;
using Federate.Core.Strategies;
using Federate.State;
using Microsoft.Data.Sqlite;

namespace Federate.State.Tests;

/// <summary>The server's state directory: schema, WAL, append-only events, checkpoints and their fallback.</summary>
public sealed class StateStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "federate-state-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static ArrayRecord Model(float value) => new() { { "w", Tensor.FromArray([value, value + 1, value + 2], 3) } };

    private static RoundRecord Round(int n) => new() { Round = n, Results = 2, Evaluate = new MetricRecord { ["accuracy"] = 0.5 + (n / 100.0) }, Seconds = 0.25 };

    private SqliteConnection Raw()
    {
        var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "state.db")};Pooling=False");
        c.Open();
        return c;
    }

    [Fact]
    public void Open_NewDirectory_CurrentSchemaInWalMode()
    {
        using (var store = StateStore.Open(_dir))
        {
            Assert.Equal(StateStore.CurrentSchemaVersion, store.SchemaVersion);
            Assert.Equal("wal", store.JournalMode);
        }

        using var again = StateStore.Open(_dir);
        Assert.Equal(StateStore.CurrentSchemaVersion, again.SchemaVersion);
        using var raw = Raw();
        using var cmd = raw.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM schema_version";
        Assert.Equal((long)StateStore.CurrentSchemaVersion, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void Open_VersionOneDatabase_MigratesToCurrent()
    {
        using (var store = StateStore.Open(_dir))
        {
            store.CreateRun("old", "f", new Dictionary<string, object?> { ["seed"] = 1 });
        }

        using (var raw = Raw())
        {
            using var cmd = raw.CreateCommand();
            cmd.CommandText = "ALTER TABLE runs DROP COLUMN generation; ALTER TABLE checkpoints DROP COLUMN state_path; ALTER TABLE checkpoints DROP COLUMN state_sha256; DELETE FROM schema_version WHERE version > 1";
            cmd.ExecuteNonQuery();
        }

        using var migrated = StateStore.Open(_dir);
        Assert.Equal(StateStore.CurrentSchemaVersion, migrated.SchemaVersion);
        Assert.Equal(1, migrated.GetRun("old")!.Generation);
        Assert.Equal(2, migrated.BeginGeneration("old"));
    }

    [Fact]
    public void Events_AreAppendOnly()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        store.AppendEvent("r", "note", "hello");
        Assert.Equal(["run_started", "note"], store.Events("r").Select(e => e.Kind));

        using var raw = Raw();
        foreach (var sql in new[] { "UPDATE events SET detail = 'x'", "DELETE FROM events" })
        {
            using var cmd = raw.CreateCommand();
            cmd.CommandText = sql;
            var ex = Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery());
            Assert.Contains("append-only", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(2, store.Events("r").Count);
    }

    [Fact]
    public void SaveRound_IndexesCheckpointAndRestoresRoundsAndState()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?> { ["seed"] = 3 });
        for (int n = 1; n <= 3; n++)
        {
            store.SaveRound("r", Round(n), Model(n), $"{{\"round\":{n}}}");
        }

        var cp = store.LoadLatestCheckpoint("r")!;
        Assert.Equal(3, cp.Round);
        Assert.Equal([3f, 4f, 5f], cp.Parameters["w"].AsSpan<float>().ToArray());
        Assert.Equal("{\"round\":3}", cp.StrategyState);
        Assert.Equal([1, 2, 3], cp.Rounds.Select(r => r.Round));
        Assert.Equal(0.53, cp.Rounds[2].Evaluate["accuracy"], 12);
        Assert.Equal(3, store.GetRun("r")!.RoundsDone);
        Assert.Equal("running", store.FindUnfinished()!.Status);

        // A re-run round replaces its row: each round appears once.
        store.SaveRound("r", Round(3), Model(3), null);
        Assert.Equal([1, 2, 3], store.Rounds("r").Select(r => r.Round));
    }

    [Fact]
    public void SaveRound_KeepCheckpoints_KeepsTheNewestAndRewritesAPrunedFileInPlace()
    {
        using var store = StateStore.Open(_dir);
        store.KeepCheckpoints = 2;
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        var folder = Path.Combine(_dir, "checkpoints", "r");

        // A larger model first: the file reused later is longer than the checkpoints written into it.
        store.SaveRound("r", Round(1), new ArrayRecord { { "w", Tensor.FromArray(new float[1000], 1000) } }, null, stateTensors: [new StateTensor("m.0", DType.Float32, [2], s => s.Write(new byte[8]))]);
        for (int n = 2; n <= 5; n++)
        {
            store.SaveRound("r", Round(n), Model(n), null);
        }

        string[] Files() => [.. Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        // Round 1's state tensors went with its checkpoint.
        Assert.Equal(["reuse.tmp", "round-00004.safetensors", "round-00005.safetensors"], Files());

        // Every round stays in the history; only checkpoints 4 and 5 remain indexed.
        Assert.Equal([1, 2, 3, 4, 5], store.Rounds("r").Select(r => r.Round));
        using (var raw = Raw())
        using (var cmd = raw.CreateCommand())
        {
            cmd.CommandText = "SELECT group_concat(round) FROM (SELECT round FROM checkpoints WHERE run_id = 'r' ORDER BY round)";
            Assert.Equal("4,5", cmd.ExecuteScalar());
        }

        // The checkpoints written into reused files read back exactly (their SHA-256 is checked on load), and are no
        // longer than their own bytes.
        var cp = store.LoadLatestCheckpoint("r")!;
        Assert.Equal(5, cp.Round);
        Assert.Equal([5f, 6f, 7f], cp.Parameters["w"].AsSpan<float>().ToArray());
        var fresh = Path.Combine(_dir, "fresh.safetensors");
        Federate.Core.Formats.Safetensors.WriteFileWithSha256(fresh, Model(5), new Dictionary<string, string> { ["run_id"] = "r", ["round"] = "5" });
        Assert.Equal(File.ReadAllBytes(fresh), File.ReadAllBytes(Path.Combine(folder, "round-00005.safetensors")));

        // Falling back still works within what is kept: a corrupted newest checkpoint gives round 4.
        File.WriteAllBytes(Path.Combine(folder, "round-00005.safetensors"), [1, 2, 3]);
        var warnings = new List<string>();
        var older = store.LoadLatestCheckpoint("r", warnings.Add)!;
        Assert.Equal(4, older.Round);
        Assert.Single(warnings);
    }

    [Fact]
    public void SaveRound_KeepCheckpointsZero_KeepsEveryCheckpoint()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        for (int n = 1; n <= 4; n++)
        {
            store.SaveRound("r", Round(n), Model(n), null);
        }

        Assert.Equal(4, Directory.GetFiles(Path.Combine(_dir, "checkpoints", "r"), "round-*.safetensors").Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.KeepCheckpoints = -1);
    }

    [Fact]
    public void StateDirectory_PrunedRun_ResumesFromTheNewestKeptCheckpoint()
    {
        using (var state = StateDirectory.Open(_dir))
        {
            state.KeepCheckpoints = 1;
            state.Store.CreateRun("r", "f", new Dictionary<string, object?>());
            for (int n = 1; n <= 3; n++)
            {
                state.Store.SaveRound("r", Round(n), Model(n), null);
            }
        }

        // Reopening checks that every checkpoint file is indexed: the reuse file is not taken for an unknown checkpoint.
        var lines = new List<string>();
        using var again = StateDirectory.Open(_dir, lines.Add);
        Assert.Equal(3, again.Store.LoadLatestCheckpoint("r")!.Round);
        Assert.Empty(lines);
    }

    [Fact]
    public void StateRunObserver_NodeReplies_RecordedPerRoundWithCounts()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        var observer = new StateRunObserver(store, "r", new FedAvg());
        Message Reply(long node, MessageType type) => new(
            new MessageMetadata { RunId = "r", Round = 0, MessageType = type, SourceNodeId = node },
            new MessageError("x", "y"));

        observer.OnReply(1, MessageType.Train, Reply(5, MessageType.Train));
        observer.OnReply(1, MessageType.Train, Reply(6, MessageType.Train));
        observer.OnReply(1, MessageType.Evaluate, Reply(5, MessageType.Evaluate));
        observer.OnRoundCompleted(Round(1), Model(1));
        observer.OnReply(2, MessageType.Train, Reply(6, MessageType.Train));
        observer.OnRunFinished(new RunHistory { RunId = "r", StopReason = StopReasons.Cancelled, StopDetail = "stopped" }, Model(1));

        using var c = Raw();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT node_id, first_round, last_round, replies FROM nodes WHERE run_id = 'r' ORDER BY node_id";
        using var reader = cmd.ExecuteReader();
        var rows = new List<(long, long, long, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        Assert.Equal([(5L, 1L, 1L, 2L), (6L, 1L, 2L, 2L)], rows);
    }

    [Fact]
    public void SaveRound_StateTensors_SavedAsSafetensorsAndRestoredExactly()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        var global = Model(1);
        var context = new RoundContext { RunId = "r", Round = 1, Seed = 0 };
        var adam = new FedAdam { ServerLearningRate = 0.1 };
        var aggregator = adam.CreateTrainAggregator(context, global);
        Assert.Null(aggregator.Add(Reply(new ArrayRecord { { "w", Tensor.FromArray(new[] { 3f, 1f, 0f }, 3) } })));
        var after1 = aggregator.Complete().Parameters!;
        store.SaveRound("r", Round(1), after1, StrategyState.Export(adam), stateTensors: StrategyState.ExportTensors(adam));

        var cp = store.LoadLatestCheckpoint("r")!;
        Assert.NotNull(cp.StateTensorsPath);
        Assert.Null(cp.StrategyState);
        var moments = Safetensors.ReadFile(cp.StateTensorsPath!, out _);
        Assert.Equal(["m.0", "v.0"], moments.Names);
        var resumed = new FedAdam { ServerLearningRate = 0.1 };
        StrategyState.ImportTensors(resumed, cp.StateTensorsPath);

        var context2 = new RoundContext { RunId = "r", Round = 2, Seed = 0 };
        var a = adam.CreateTrainAggregator(context2, cp.Parameters);
        var b = resumed.CreateTrainAggregator(context2, cp.Parameters);
        a.Add(Reply(Model(2)));
        b.Add(Reply(Model(2)));
        Assert.Equal(a.Complete().Parameters!["w"].AsBytes().ToArray(), b.Complete().Parameters!["w"].AsBytes().ToArray());
    }

    [Fact]
    public void LoadLatestCheckpoint_CorruptStateTensors_FallsBack()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        StateTensor[] tensors = [new StateTensor("m.0", DType.Float32, [2], s => s.Write(new byte[8]))];
        store.SaveRound("r", Round(1), Model(1), null, stateTensors: tensors);
        store.SaveRound("r", Round(2), Model(2), null, stateTensors: tensors);
        var state = Path.Combine(_dir, "checkpoints", "r", "round-00002.state.safetensors");
        var data = File.ReadAllBytes(state);
        data[^1] ^= 0xFF;
        File.WriteAllBytes(state, data);

        var warnings = new List<string>();
        var cp = store.LoadLatestCheckpoint("r", warnings.Add)!;

        Assert.Equal(1, cp.Round);
        Assert.Contains("strategy state", Assert.Single(warnings), StringComparison.Ordinal);
    }

    private static Message Reply(ArrayRecord model)
    {
        var content = new RecordDict();
        content.Arrays[RecordNames.Model] = model;
        content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 1 };
        return new Message(new MessageMetadata { RunId = "r", Round = 1, MessageType = MessageType.Train, SourceNodeId = 1 }, content);
    }

    [Fact]
    public void LoadLatestCheckpoint_TruncatedFile_FallsBackToPreviousAndSaysSo()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("r", "f", new Dictionary<string, object?>());
        store.SaveRound("r", Round(1), Model(1), "{\"s\":1}");
        var last = store.SaveRound("r", Round(2), Model(2), "{\"s\":2}");
        var bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(last, bytes[..(bytes.Length / 2)]);

        var warnings = new List<string>();
        var cp = store.LoadLatestCheckpoint("r", warnings.Add)!;
        Assert.Equal(1, cp.Round);
        Assert.Equal([1f, 2f, 3f], cp.Parameters["w"].AsSpan<float>().ToArray());
        Assert.Equal("{\"s\":1}", cp.StrategyState);
        Assert.Equal([1], cp.Rounds.Select(r => r.Round));
        var warning = Assert.Single(warnings);
        Assert.Contains("round 2", warning, StringComparison.Ordinal);
        Assert.Contains("falling back", warning, StringComparison.Ordinal);
        Assert.Contains(store.Events("r"), e => e.Kind == "checkpoint_corrupt");

        // Same length, flipped byte: the hash catches it too; with no usable checkpoint the run restarts.
        File.Delete(last);
        var first = Path.Combine(_dir, "checkpoints", "r", "round-00001.safetensors");
        var data = File.ReadAllBytes(first);
        data[^1] ^= 0xFF;
        File.WriteAllBytes(first, data);
        Assert.Null(store.LoadLatestCheckpoint("r"));
    }

    [Fact]
    public void FinishRun_HistoryAndListing()
    {
        using var store = StateStore.Open(_dir);
        store.CreateRun("a", "f", new Dictionary<string, object?> { ["rounds"] = 2 });
        store.SaveRound("a", Round(1), Model(1), null);
        Assert.Equal([1], store.History("a")!.Rounds.Select(r => r.Round));

        var history = new RunHistory { RunId = "a", Config = new Dictionary<string, object?> { ["rounds"] = 2 }, StopReason = StopReasons.RoundLimit, StopDetail = "done" };
        history.Rounds.Add(Round(1));
        history.Rounds.Add(Round(2));
        store.FinishRun("a", history);
        store.CreateRun("b", "g", new Dictionary<string, object?>());
        store.Abandon("b", "settings changed");

        Assert.Null(store.FindUnfinished());
        var a = store.GetRun("a")!;
        Assert.Equal("finished", a.Status);
        Assert.Equal(StopReasons.RoundLimit, a.StopReason);
        Assert.Equal("abandoned", store.GetRun("b")!.Status);
        Assert.Equal(2, store.ListRuns().Count);
        Assert.Equal(2, store.History("a")!.Rounds.Count);
        Assert.Equal(2L, store.History("a")!.Config["rounds"]);
    }
}
