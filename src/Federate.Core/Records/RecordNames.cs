namespace Federate.Core.Records;

/// <summary>Record and metric names used by built-in strategies and client apps.</summary>
public static class RecordNames
{
    /// <summary>The model parameters.</summary>
    public const string Model = "model";

    /// <summary>The round's config.</summary>
    public const string Config = "config";

    /// <summary>A reply's metrics.</summary>
    public const string Metrics = "metrics";

    /// <summary>Number of examples a reply is based on (the FedAvg weight).</summary>
    public const string NumExamples = "num_examples";

    /// <summary>Config key carrying the round number.</summary>
    public const string ServerRound = "server_round";
}
