using Federate.Core;
using Federate.Core.Client;

namespace Federate.Server.Tests;

/// <summary>Adds 1 to every parameter; reports one example.</summary>
internal sealed class AddOneClient : FederatedClient
{
    public override ArrayRecord GetParameters(ConfigRecord config) => new();

    public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken)
    {
        var w = parameters["w"].GetArray<float>();
        return new FitResult(new ArrayRecord { { "w", Tensor.FromArray(w.Select(x => x + 1f).ToArray(), w.Length) } }, 1, new MetricRecord());
    }

    public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
        new(0.5, 1, new MetricRecord { ["accuracy"] = 1 });
}
