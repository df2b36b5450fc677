namespace Federate.Learning;

/// <summary>Creates built-in models from their command-line names.</summary>
public static class ModelFactory
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["logistic", "mlp", "mlp:H1[,H2...]", "gaussian-nb"];

    /// <summary>
    /// Creates an uninitialised model: "logistic" (softmax regression; logistic for two classes), "mlp" (hidden 128,
    /// ReLU), "mlp:256,128" (hidden sizes), "gaussian-nb". Throws <see cref="ArgumentException"/> with a one-line
    /// message for an unknown name.
    /// </summary>
    public static Model Create(string name, int inputSize, int classCount) => throw new NotImplementedException();
}
