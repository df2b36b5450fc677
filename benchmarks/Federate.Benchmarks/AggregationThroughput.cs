using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Federate.Core;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.Benchmarks;

/// <summary>
/// Aggregation of K updates against <c>y += x</c> (TensorPrimitives.Add into a reused y) over the same bytes, measured
/// interleaved in the same run, medians of the repetitions, in CPU time of the process (robust to a shared machine). Each repetition is a round: a new FedAvg aggregator,
/// told to expect K replies (as a round's train stage tells it: the last fold then also scales the mean),
/// K whole replies added (layout and NaN/Inf validation included), Complete; and the server's streamed path: the
/// same K updates folded chunk by chunk as the fleet service folds an update whose turn it is (1 MiB chunks, NaN/Inf
/// check fused into the fold).
/// "before" is the aggregation as it was (a zeroed new sum every round, a separate NaN/Inf pass over each update).
/// Usage: <c>dotnet run -c Release --project benchmarks/Federate.Benchmarks -- aggregation [--cases 1x256,4x256,100x40] [--reps 5]</c>
/// (KxMB; updates beyond 8 distinct buffers reuse them, each larger than the caches, to bound memory).
/// </summary>
internal static class AggregationThroughput
{
    private const int DistinctUpdates = 8;
    private const int ChunkBytes = 1 << 20;

    public static int Run(string[] args)
    {
        var cases = "1x256,4x256,100x40";
        int reps = 5;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--cases")
            {
                cases = args[++i];
            }
            else if (args[i] == "--reps")
            {
                reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
        }

        Console.WriteLine($"aggregation of K float32 updates against y += x over the same bytes; process CPU ms, median of {reps} interleaved repetitions; {Environment.ProcessorCount} cores, load {Load()}");
        Console.WriteLine($"{"case",-12} {"y += x",10} {"aggregator",11} {"ratio",6} {"streamed",9} {"ratio",6} {"before",8} {"ratio",6}");
        foreach (var c in cases.Split(','))
        {
            var parts = c.Split('x');
            RunCase(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), reps);
        }

        return 0;
    }

    private static void RunCase(int k, int megabytes, int reps)
    {
        int n = megabytes * (1 << 20) / sizeof(float);
        var rng = new Random(1);
        var buffers = new float[Math.Min(k, DistinctUpdates)][];
        for (int u = 0; u < buffers.Length; u++)
        {
            var x = GC.AllocateUninitializedArray<float>(n);
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }

            buffers[u] = x;
        }

        var replies = Enumerable.Range(0, k).Select(u =>
        {
            var content = new RecordDict();
            content.Arrays[RecordNames.Model] = new ArrayRecord { { "w", Tensor.FromArray(buffers[u % buffers.Length], n) } };
            content.Metrics[RecordNames.Metrics] = new MetricRecord { [RecordNames.NumExamples] = 10 + u };
            return new Message(new MessageMetadata { RunId = "bench", Round = 1, MessageType = MessageType.Train, SourceNodeId = u + 1 }, content);
        }).ToArray();
        var global = new ArrayRecord { { "w", Tensor.FromArray(new float[n], n) } };
        var y = new float[n];

        var plain = new List<double>();
        var whole = new List<double>();
        var streamed = new List<double>();
        var before = new List<double>();
        for (int r = 0; r < reps + 1; r++)
        {
            // The first repetition warms up (JIT, first touch of y) and is not counted.
            var p = Time(() =>
            {
                for (int u = 0; u < k; u++)
                {
                    TensorPrimitives.Add(y, buffers[u % buffers.Length], y);
                }
            });
            var w = Time(() =>
            {
                var aggregator = new WeightedMeanAggregator(global);
                aggregator.ExpectReplies(replies.Length); // as a round's train stage does: the last fold scales
                foreach (var reply in replies)
                {
                    if (aggregator.Add(reply) is { } problem)
                    {
                        throw new InvalidOperationException(problem);
                    }
                }

                GC.KeepAlive(aggregator.Complete().Parameters);
            });
            var s = Time(() => GC.KeepAlive(Streamed(global, replies)));
            var b = Time(() => GC.KeepAlive(Before(n, replies)));
            if (r > 0)
            {
                plain.Add(p);
                whole.Add(w);
                streamed.Add(s);
                before.Add(b);
            }
        }

        double reference = Median(plain);
        string Ratio(List<double> t) => (reference / Median(t)).ToString("0.00", CultureInfo.InvariantCulture);
        var label = $"{k} x {megabytes} MB";
        Console.WriteLine($"{label,-12} {reference,10:0.0} {Median(whole),11:0.0} {Ratio(whole),6} {Median(streamed),9:0.0} {Ratio(streamed),6} {Median(before),8:0.0} {Ratio(before),6}");
    }

    /// <summary>The server's path: chunks checked and folded as they arrive, in one pass each.</summary>
    private static Tensor? Streamed(ArrayRecord global, Message[] replies)
    {
        var aggregator = new WeightedMeanAggregator(global);
        aggregator.ExpectReplies(replies.Length);
        foreach (var reply in replies)
        {
            var fold = aggregator.BeginUpdate(reply.Metadata.SourceNodeId, reply.Content!.Metrics[RecordNames.Metrics]);
            var bytes = reply.Content.Arrays[RecordNames.Model]["w"].AsBytes();
            for (int offset = 0; offset < bytes.Length; offset += ChunkBytes)
            {
                var chunk = bytes.Slice(offset, Math.Min(ChunkBytes, bytes.Length - offset));
                if (!fold.TryFoldFiniteChunk(0, offset / sizeof(float), chunk, DType.Float32))
                {
                    throw new InvalidOperationException("not finite");
                }
            }

            fold.Commit();
        }

        return aggregator.Complete().Parameters?["w"];
    }

    /// <summary>The aggregation as it was: a zeroed new sum, each update checked in a pass of its own, then folded.</summary>
    private static float[] Before(int n, Message[] replies)
    {
        var sum = new float[n];
        double total = 0;
        foreach (var reply in replies)
        {
            var x = reply.Content!.Arrays[RecordNames.Model]["w"].AsSpan<float>();
            if (!AggregationKernels.AllFinite(x))
            {
                throw new InvalidOperationException("not finite");
            }

            double weight = reply.Content.Metrics[RecordNames.Metrics][RecordNames.NumExamples];
            AggregationKernels.FoldWeighted(sum, x, (float)weight);
            total += weight;
        }

        AggregationKernels.Scale(sum, (float)(1.0 / total));
        return sum;
    }

    /// <summary>
    /// CPU time of the process (all its threads, the garbage collector's included) while <paramref name="action"/> runs:
    /// on a machine shared with other work, wall time would count the time other processes held the cores.
    /// </summary>
    private static double Time(Action action)
    {
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        action();
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Load()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
