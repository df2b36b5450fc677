using System.Diagnostics;
using System.Globalization;
using Federate.Learning;

// Training throughput of the built-in convolutional models on Fashion-MNIST, one thread (images per second per
// core, measured as process CPU time so a busy machine does not skew it): plain SGD with momentum as in NIID-Bench, and DP-SGD (Poisson sampling, per-example clipping, noise).
// Usage: dotnet run -c Release --project benchmarks/Federate.ModelBenchmark -- [--images N] [--repeats R] [--models cnn,cnn-mcmahan] [--data-dir DIR]
var images = 6000;
var repeats = 3;
var models = new[] { "cnn", "cnn-mcmahan" };
string? dataDir = null;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--images": images = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--repeats": repeats = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--models": models = args[i + 1].Split(','); break;
        case "--data-dir": dataDir = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var train = DatasetCatalog.Load("fashion-mnist", dataDir).Train;
var subset = train.Subset([.. Enumerable.Range(0, Math.Min(images, train.Count))]);
Console.WriteLine($"Fashion-MNIST, {subset.Count} training images, batch 64, one thread, {Environment.ProcessorCount} logical cores on the machine, best of {repeats}");
Console.WriteLine($"{"model",-12} {"mode",-8} {"images/cpu-s",12} {"images/s wall",14} {"dp/plain",9}");
using var process = Process.GetCurrentProcess();
foreach (var name in models)
{
    double plain = 0;
    foreach (var dp in new[] { false, true })
    {
        var options = new TrainOptions
        {
            Epochs = 1,
            BatchSize = 64,
            LearningRate = 0.01,
            Momentum = 0.9,
            Seed = 1,
            DpSgd = dp ? new DpSgdOptions { NoiseMultiplier = 1.0, MaxGradNorm = 1.0 } : null,
        };
        var model = ModelFactory.Create(name, subset.FeatureCount, subset.ClassCount);
        model.Initialize(0);

        // Warm-up on a slice (JIT, tiered compilation, scratch buffers).
        model.Train(subset.Subset([.. Enumerable.Range(0, Math.Min(640, subset.Count))]), options, CancellationToken.None);
        double best = 0;
        double bestWall = 0;
        for (int r = 0; r < repeats; r++)
        {
            // CPU time of the process (training runs on this one thread), so other load on the machine does not count.
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            model.Train(subset, options, CancellationToken.None);
            watch.Stop();
            process.Refresh();
            best = Math.Max(best, subset.Count / (process.TotalProcessorTime - cpu).TotalSeconds);
            bestWall = Math.Max(bestWall, subset.Count / watch.Elapsed.TotalSeconds);
        }

        if (!dp)
        {
            plain = best;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12} {(dp ? "dp-sgd" : "sgd"),-8} {best,12:F0} {bestWall,14:F0} {(dp ? $"{best / plain:F2}x" : ""),9}"));
    }

#if TORCHSHARP
    {
        // The same network and optimizer in TorchSharp (libtorch), one intra-op thread, same images.
        TorchSharpTrainer.SetThreads(1);
        var torchModel = TorchSharpTrainer.Create(name, subset.ClassCount);
        TorchSharpTrainer.TrainEpoch(torchModel, subset.Subset([.. Enumerable.Range(0, Math.Min(640, subset.Count))]), 0);
        double best = 0;
        double bestWall = 0;
        for (int r = 0; r < repeats; r++)
        {
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            TorchSharpTrainer.TrainEpoch(torchModel, subset, r);
            watch.Stop();
            process.Refresh();
            best = Math.Max(best, subset.Count / (process.TotalProcessorTime - cpu).TotalSeconds);
            bestWall = Math.Max(bestWall, subset.Count / watch.Elapsed.TotalSeconds);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12} {"torch",-8} {best,12:F0} {bestWall,14:F0} {$"{plain / best:F2}x",9}  (Federate sgd / TorchSharp)"));
    }
#endif
}

return 0;
