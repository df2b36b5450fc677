using System.Diagnostics;
using System.Globalization;
using Federate.Learning;

namespace Federate.Benchmarks;

/// <summary>
/// DP-SGD against plain SGD on the same model and data, interleaved so that load on a shared machine hits both
/// alike: for each batch size, R rounds of (one plain epoch, one DP-SGD epoch), in alternating order, each timed by
/// wall clock and by the process's CPU time (training runs on the calling thread). Prints medians of examples per
/// second and the DP-SGD / SGD ratio of the medians.
/// Usage: <c>dotnet run -c Release --project benchmarks/Federate.Benchmarks -- dpsgd-speed [--model mlp]
/// [--examples 3200] [--batches 16,32,64] [--rounds 9] [--features 784] [--classes 10] [--sigma 1]</c>.
/// </summary>
internal static class DpSgdSpeed
{
    public static int Run(string[] args)
    {
        var model = "mlp";
        int examples = 3200;
        int rounds = 9;
        int features = 784;
        int classes = 10;
        int[] batches = [16, 32, 64];
        double sigma = 1.0;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            string value = args[i + 1];
            switch (args[i])
            {
                case "--model": model = value; break;
                case "--examples": examples = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--features": features = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--classes": classes = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sigma": sigma = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batches": batches = [.. value.Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))]; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; use --model, --examples, --rounds, --features, --classes, --batches, --sigma");
                    return 2;
            }
        }

        var data = BenchmarkData.Random(examples, features, classes);
        var probe = ModelFactory.Create(model, features, classes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DP-SGD (sigma {sigma}, C 1, Poisson sampling) against plain SGD: {model}, {((DifferentiableModel)probe).ParameterCount:N0} parameters, {examples} random examples of {features} features, one epoch per sample, {rounds} interleaved samples, medians; {Environment.ProcessorCount} logical cores, load {LoadAverage()}"));
        Console.WriteLine($"{"batch",5} {"sgd ex/s",10} {"dp ex/s",10} {"ratio",6}   {"sgd ex/cpu-s",12} {"dp ex/cpu-s",12} {"ratio",6}");
        foreach (int batch in batches)
        {
            var plain = new TrainOptions { Epochs = 1, BatchSize = batch, LearningRate = 0.01, Seed = 1 };
            var dp = plain with { DpSgd = new DpSgdOptions { NoiseMultiplier = sigma, MaxGradNorm = 1.0 } };
            var sgdModel = Create(model, features, classes);
            var dpModel = Create(model, features, classes);

            // Warm-up: JIT and tiered compilation, scratch buffers.
            var warm = data.Subset([.. Enumerable.Range(0, Math.Min(examples, 4 * batch))]);
            for (int w = 0; w < 3; w++)
            {
                sgdModel.Train(warm, plain, CancellationToken.None);
                dpModel.Train(warm, dp, CancellationToken.None);
            }

            var sgdWall = new List<double>();
            var dpWall = new List<double>();
            var sgdCpu = new List<double>();
            var dpCpu = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                // Alternate which goes first, so a burst of load does not always land on the same one.
                for (int k = 0; k < 2; k++)
                {
                    bool isDp = (k == 0) == (r % 2 == 1);
                    var (wall, cpu) = Time(isDp ? dpModel : sgdModel, data, isDp ? dp : plain);
                    (isDp ? dpWall : sgdWall).Add(examples / wall);
                    (isDp ? dpCpu : sgdCpu).Add(examples / cpu);
                }
            }

            double sw = Median(sgdWall);
            double dw = Median(dpWall);
            double sc = Median(sgdCpu);
            double dc = Median(dpCpu);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{batch,5} {sw,10:F0} {dw,10:F0} {dw / sw,5:F2}x   {sc,12:F0} {dc,12:F0} {dc / sc,5:F2}x"));
        }

        return 0;
    }

    private static Model Create(string name, int features, int classes)
    {
        var model = ModelFactory.Create(name, features, classes);
        model.Initialize(1);
        return model;
    }

    private static (double Wall, double Cpu) Time(Model model, Dataset data, TrainOptions options)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        model.Train(data, options, CancellationToken.None);
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
