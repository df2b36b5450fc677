using BenchmarkDotNet.Running;
using Federate.Benchmarks;

// `dpsgd-speed` and `aggregation` run Stopwatch tables (interleaved samples; model-sized updates are too large for
// BenchmarkDotNet's many iterations); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "dpsgd-speed")
{
    return DpSgdSpeed.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "aggregation")
{
    return AggregationThroughput.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
