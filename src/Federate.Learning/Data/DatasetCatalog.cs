namespace Federate.Learning;

/// <summary>The embedded datasets, Fashion-MNIST and CSV files by path.</summary>
public static class DatasetCatalog
{
    /// <summary>Embedded dataset names plus "fashion-mnist".</summary>
    public static IReadOnlyList<string> Names { get; } = ["digits", "breast-cancer", "iris", "wine", "letter-recognition", "sensor-single-hop", "sensor-multi-hop", "fashion-mnist"];

    /// <summary>
    /// Loads a dataset by name, or a CSV file when <paramref name="nameOrPath"/> is a path. Throws
    /// <see cref="DatasetException"/> with a one-line message for an unknown name, a missing file or malformed data.
    /// </summary>
    public static DataSplit Load(string nameOrPath, string? dataDir = null, string? labelColumn = null) => throw new NotImplementedException();
}

/// <summary>A dataset could not be loaded; the message says what is wrong and what to do.</summary>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DatasetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public DatasetException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DatasetException()
    {
    }
}
