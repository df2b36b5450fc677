using System.CommandLine;
using Federate.Core.Compression;

namespace Federate.Cli.Commands;

/// <summary>
/// <c>--update-compression</c>, shared by <c>federate sim</c> and <c>federate server</c>: the run's update
/// compression (<see cref="UpdateCompression"/>), sent to clients in the round config. Unrelated to the server's and
/// client's <c>--compression</c> (gzip of gRPC messages).
/// </summary>
internal sealed class CompressionCliOptions : OptionGroup
{
    private readonly Option<string> _codec = CommonOptions.Create(
        "--update-compression",
        "Compress client updates: none, fp16 or int8 (per-block scales) or topk:F (the fraction F of each block's largest values), with error feedback on clients.",
        "none",
        "none|fp16|int8|topk:F");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_codec];

    /// <summary>The codec as given, checked (unknown codecs and the combination with <c>--secagg</c> are refused).</summary>
    public string Read(ParseResult parse, Command command, bool secureAggregation)
    {
        var spec = parse.GetValue(_codec)!;
        if (UpdateCompression.Check(spec, secureAggregation) is { } problem)
        {
            throw new UsageException(OptionNames.ToFlags(problem, command));
        }

        return spec;
    }
}
