namespace Federate.Core.Running;

/// <summary>Names of the lifecycle notifications (design 4).</summary>
public static class NotificationTypes
{
    /// <summary>The run starts; body <c>{global_model_uuid}</c>.</summary>
    public const string TrainingStart = "TRAINING_START";

    /// <summary>A train round starts; body <c>{round, global_model_uuid}</c>.</summary>
    public const string UpdateRoundStart = "UPDATE_ROUND_START";

    /// <summary>The round's new global model is evaluated; body <c>{round, global_model_uuid}</c>.</summary>
    public const string ModelTestRound = "MODEL_TEST_ROUND";

    /// <summary>The run finished; body <c>{global_model_uuid}</c>.</summary>
    public const string TrainingFinished = "TRAINING_FINISHED";

    /// <summary>
    /// An operator reset the run (inspector): clients drop local training state (checkpoints, cached models); body
    /// <c>{reason}</c>. Not part of design 4; a client that does not know it ignores it.
    /// </summary>
    public const string RunReset = "RUN_RESET";

    /// <summary>
    /// Demo mode (design 2): clients replace their local data with newly generated synthetic data; body <c>{seed}</c>.
    /// </summary>
    public const string DemoGenerateData = "DEMO_GENERATE_DATA";
}
