using BenchmarkDotNet.Running;
using Federate.Benchmarks;

if (args.Length > 0 && args[0] == "dpsgd-speed")
{
    return DpSgdSpeed.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
