namespace Federate.Chaos;

/// <summary>What the chaos and soak runs share: the CLI they start, their folder, the model and the progress log.</summary>
public abstract class RunnerSettings
{
    /// <summary>The built CLI (<c>src/Federate.Cli/bin/Release/net10.0/federate.dll</c>).</summary>
    public required string FederateDll { get; init; }

    /// <summary>Folder for the runs' state and output directories.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>The model (<c>--model</c>); digits is the dataset.</summary>
    public string Model { get; init; } = "mlp";

    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = _ => { };
}
