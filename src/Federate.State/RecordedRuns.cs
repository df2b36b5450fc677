namespace Federate.State;

/// <summary>
/// Read-only access to the runs a state directory has recorded (what <c>federate runs list|show|export</c> prints):
/// opens the directory's database without creating or locking anything, and closes it before returning.
/// </summary>
public static class RecordedRuns
{
    /// <summary>Every run of <paramref name="stateDirectory"/>, newest first.</summary>
    /// <exception cref="KeyNotFoundException">The directory holds no state database.</exception>
    public static IReadOnlyList<RunRow> List(string stateDirectory)
    {
        using var store = StateStore.OpenExisting(stateDirectory);
        return store.ListRuns();
    }

    /// <summary>The run whose id is or starts with <paramref name="runId"/>, and its history round by round.</summary>
    /// <exception cref="KeyNotFoundException">No run, or more than one, matches.</exception>
    public static (RunRow Run, RunHistory History) Find(string stateDirectory, string runId)
    {
        using var store = StateStore.OpenExisting(stateDirectory);
        var row = store.RequireRun(runId);
        return (row, store.History(row.Id) ?? throw new KeyNotFoundException($"run {row.Id} has no recorded history"));
    }
}
