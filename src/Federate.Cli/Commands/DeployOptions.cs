using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Federate.Cli.Commands;

/// <summary>Helpers shared by <c>federate server</c> and <c>federate client</c>.</summary>
internal static class DeployOptions
{
    /// <summary>Console logging: one line per event on stdout, with a time stamp (or one JSON object per event).</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, bool verbose, bool json = false)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning).AddFilter("System.Net.Http", LogLevel.Warning)
            .AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Critical); // malformed calls are answered with a status; no stack traces in the log
        if (json)
        {
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = false;
            });
            return;
        }

        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
    }

    /// <summary>Parses repeated KEY=VALUE options into a config record (integers, numbers, booleans, strings).</summary>
    public static ConfigRecord ParseConfig(IEnumerable<string>? entries)
    {
        var config = new ConfigRecord();
        foreach (var entry in entries ?? [])
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"--config must look like KEY=VALUE, got '{entry}'");
            }

            config[entry[..eq]] = ConfigValue.Parse(entry[(eq + 1)..]);
        }

        return config;
    }

    /// <summary>Input and output sizes of a dataset without training on it (embedded datasets are small; Fashion-MNIST is fixed).</summary>
    public static (int Features, int Classes) DatasetShape(string dataset, string? dataDir, string? labelColumn)
    {
        if (dataset.Replace('_', '-').Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            return (784, 10);
        }

        var split = DatasetCatalog.Load(dataset, dataDir, labelColumn);
        return (split.Train.FeatureCount, split.Train.ClassCount);
    }

    /// <summary>Rejects a model that cannot learn the dataset (a segmentation model on a classification dataset or the reverse).</summary>
    public static void CheckModelFitsDataset(string model, string dataset, string? dataDir, string? labelColumn)
    {
        var segmentation = dataset.Replace('_', '-').Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase)
            ? null
            : DatasetCatalog.Load(dataset, dataDir, labelColumn).Train.Segmentation;
        ModelFactory.CheckDataset(model, dataset, segmentation);
    }

    /// <summary>Seconds to a time span; 0 or less means none (infinite).</summary>
    public static TimeSpan Seconds(double seconds, bool zeroIsInfinite = false) =>
        zeroIsInfinite && seconds <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    public static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
