using System.Diagnostics;
using System.Globalization;

namespace Federate.Core.Diagnostics;

/// <summary>
/// A crash-test hook, off unless the environment variable <see cref="Variable"/> is set when the process starts:
/// <c>FEDERATE_FAULT_KILL=NAME:ROUND:N</c> makes the process SIGKILL itself the N-th time it reaches the named point
/// in round ROUND (<c>*</c>: any round). It prints one line first (<c>fault: SIGKILL at NAME ...</c>, to stderr).
/// The chaos runner (<c>benchmarks/Federate.Chaos</c>) uses it to kill a server or client at exact moments: points
/// are <c>waiting</c> (waiting for clients), <c>round-start</c>, <c>upload</c> (a train update chunk received, not yet
/// folded), <c>fold</c> (a chunk folded into the running sum), <c>evaluate</c> (an evaluate reply received),
/// <c>checkpoint-file</c> (checkpoint files written, the round not yet committed), <c>checkpoint-commit</c> (the
/// round committed), <c>finished</c> (the run marked finished, outputs not yet written), and on clients
/// <c>client-submit</c> and <c>client-upload</c> (a chunk sent). <c>NAME:ROUND:N:hold</c> holds the thread that
/// reaches the point for good instead (printing <c>fault: holding at NAME ...</c>), so a test can act while the process
/// is alive at a known point (its state directory locked, a round not finished). When the variable is unset every
/// call is one comparison with null.
/// </summary>
public static class FaultPoints
{
    /// <summary>The environment variable that arms the hook.</summary>
    public const string Variable = "FEDERATE_FAULT_KILL";

    private static readonly Armed? Spec = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _hits;

    /// <summary>Marks that the process reached <paramref name="name"/> in <paramref name="round"/> (0 when it has no round).</summary>
    public static void Reach(string name, int round = 0)
    {
        if (Spec is not { } spec || !string.Equals(spec.Name, name, StringComparison.Ordinal) || (spec.Round != 0 && spec.Round != round))
        {
            return;
        }

        if (Interlocked.Increment(ref _hits) != spec.Hit)
        {
            return;
        }

        if (spec.Hold)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fault: holding at {name} (round {round}, hit {spec.Hit}), pid {Environment.ProcessId}"));
            Console.Error.Flush();
            Thread.Sleep(Timeout.Infinite);
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fault: SIGKILL at {name} (round {round}, hit {spec.Hit}), pid {Environment.ProcessId}"));
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    private static Armed? Parse(string? text)
    {
        // Anything else than NAME:ROUND:N or NAME:ROUND:N:hold (ROUND a number or *, N a positive number) leaves the
        // hook off.
        var parts = text?.Split(':');
        if (parts is not { Length: 3 or 4 } || (parts.Length == 4 && parts[3] != "hold")
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int hit) || hit < 1)
        {
            return null;
        }

        bool hold = parts.Length == 4;
        if (parts[1] == "*")
        {
            return new Armed(parts[0], 0, hit, hold);
        }

        return int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int round) ? new Armed(parts[0], round, hit, hold) : null;
    }

    private sealed record Armed(string Name, int Round, int Hit, bool Hold);
}
