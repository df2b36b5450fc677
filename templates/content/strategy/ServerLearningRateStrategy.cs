namespace FederateStrategy1;

/// <summary>
/// FedAvg, then the global model moves only part of the way to the clients' weighted average:
/// global + rate * (average - global). Everything else (sampling, evaluation, failures) is FedAvg's.
/// </summary>
/// <param name="rate">The server learning rate, in (0, 1]; 1 is plain FedAvg.</param>
public sealed class ServerLearningRateStrategy(double rate) : FedAvg
{
    /// <inheritdoc />
    public override string Name => "fedavg-server-lr";

    /// <inheritdoc />
    public override ITrainAggregator CreateTrainAggregator(RoundContext context, ArrayRecord global) =>
        new Aggregator(base.CreateTrainAggregator(context, global), global, (float)rate);

    private sealed class Aggregator(ITrainAggregator average, ArrayRecord global, float rate) : ITrainAggregator
    {
        public int Count => average.Count;

        public string? Add(Message reply) => average.Add(reply);

        public AggregateResult Complete()
        {
            var result = average.Complete();
            if (result.Parameters is null)
            {
                return result; // no usable replies: the round keeps the global model
            }

            foreach (var name in global.Names)
            {
                var before = global[name].AsSpan<float>();
                var after = result.Parameters[name].AsSpan<float>();
                for (int i = 0; i < after.Length; i++)
                {
                    after[i] = before[i] + (rate * (after[i] - before[i]));
                }
            }

            return result;
        }
    }
}
