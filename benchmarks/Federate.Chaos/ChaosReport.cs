using System.Globalization;
using System.Text;

namespace Federate.Chaos;

/// <summary>The trials of a chaos run and the summary table the runner prints.</summary>
/// <param name="Trials">Every trial, in order.</param>
/// <param name="ReferenceDeterministic">Two uninterrupted reference runs with the same seed gave byte-identical models.</param>
/// <param name="ReferenceSeconds">Wall time of the uninterrupted reference run.</param>
public sealed record ChaosReport(IReadOnlyList<TrialResult> Trials, bool ReferenceDeterministic, double ReferenceSeconds)
{
    /// <summary>The trials of one kind.</summary>
    public IReadOnlyList<TrialResult> Of(TrialKind kind) => [.. Trials.Where(t => t.Kind == kind)];

    /// <summary>The summary: per kind, how many trials finished, were identical, counted each round once and kept a complete audit log; then where the faults landed.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"reference: uninterrupted run {ReferenceSeconds:0.0} s; a second uninterrupted run with the same seed {(ReferenceDeterministic ? "gave a byte-identical model" : "gave a DIFFERENT model")}");
        sb.AppendLine();
        sb.AppendLine("| trials | kind | finished | identical model | rounds 1..R once | audit log complete | trials with a round short of a client | median s |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var kind in Enum.GetValues<TrialKind>())
        {
            var t = Of(kind);
            if (t.Count == 0)
            {
                continue;
            }

            var seconds = t.Select(x => x.Seconds).Order().ToList();
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {t.Count} | {Name(kind)} | {t.Count(x => x.Finished)} | {t.Count(x => x.Identical)} | {t.Count(x => x.RoundsOnce)} | {t.Count(x => x.AuditComplete)} | {t.Count(x => x.ShortRounds > 0)} | {seconds[seconds.Count / 2]:0.0} |");
        }

        foreach (var kind in Enum.GetValues<TrialKind>())
        {
            var t = Of(kind);
            if (t.Count == 0)
            {
                continue;
            }

            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"where the faults landed ({Name(kind)}):");
            sb.AppendLine();
            sb.AppendLine("| landed | trials | identical |");
            sb.AppendLine("|---|---:|---:|");
            foreach (var group in t.GroupBy(x => x.Landed).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {group.Key} | {group.Count()} | {group.Count(x => x.Identical)} |");
            }

            var resumed = t.Where(x => x.ResumedAfter is not null).GroupBy(x => x.ResumedAfter!.Value).OrderBy(g => g.Key).ToList();
            if (resumed.Count > 0)
            {
                sb.AppendLine();
                int fresh = t.Count(x => x.ResumedAfter is null);
                sb.AppendLine(CultureInfo.InvariantCulture, $"restarted server resumed after round: {string.Join(", ", resumed.Select(g => $"{g.Key} ({g.Count()})"))}{(fresh > 0 ? $"; started the run afresh (killed before it was recorded): {fresh}" : "")}");
            }
        }

        var failed = Trials.Where(x => !x.Consistent || (x.Kind == TrialKind.ServerKill && !x.Identical)).ToList();
        if (failed.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("problems:");
            foreach (var f in failed)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {Name(f.Kind)} #{f.Index} ({f.Planned}): {f.Problem}");
            }
        }

        return sb.ToString();
    }

    /// <summary>The kind's name in reports.</summary>
    public static string Name(TrialKind kind) => kind switch
    {
        TrialKind.ServerKill => "server kill",
        TrialKind.ClientKill => "client kill",
        _ => "network fault",
    };
}
