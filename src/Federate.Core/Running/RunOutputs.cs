namespace Federate.Core.Running;

/// <summary>Where a run writes its final model (<c>model.safetensors</c>) and history (<c>history.json</c>).</summary>
public sealed class RunOutputs
{
    /// <summary>The output folder (created when missing).</summary>
    public required string Directory { get; init; }

    /// <summary>Metadata stored in the model file's header (format, model, dataset, shapes).</summary>
    public IDictionary<string, string> ModelMetadata { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The model file's path.</summary>
    public string ModelPath => Path.Combine(Directory, "model.safetensors");

    /// <summary>The history file's path.</summary>
    public string HistoryPath => Path.Combine(Directory, "history.json");

    /// <summary>
    /// Creates the folder before the run starts, so a bad <see cref="Directory"/> fails at once, not after the last
    /// round; throws <see cref="IOException"/> with a one-line message when it names a file.
    /// </summary>
    public void EnsureDirectory()
    {
        if (File.Exists(Directory))
        {
            throw new IOException($"the output folder '{Directory}' is a file; give a folder (it is created when missing)");
        }

        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>Writes the final model and the history.</summary>
    public void Write(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        System.IO.Directory.CreateDirectory(Directory);
        Safetensors.WriteFile(ModelPath, result.Parameters, new Dictionary<string, string>(ModelMetadata, StringComparer.Ordinal));
        HistoryJson.WriteFile(HistoryPath, result.History);
    }
}
