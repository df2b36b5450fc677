using System.CommandLine;
using Federate.Learning.Data;

namespace Federate.Cli.Commands;

/// <summary><c>--dataset</c>, <c>--data-dir</c> and <c>--label-column</c>: where the rows come from, shared by sim, server and client.</summary>
internal sealed class DatasetOptions(OptionRole role) : OptionGroup
{
    private readonly Option<string> _dataset = CommonOptions.Create(
        "--dataset",
        role == OptionRole.Server
            ? "Dataset whose input and output sizes shape the model (the server reads no training data)."
            : $"Embedded dataset ({string.Join(", ", DatasetCatalog.Names)}) or a CSV file path.",
        "digits",
        "NAME|PATH");

    private readonly Option<string?> _dataDir = CommonOptions.CreateOptional<string>("--data-dir", "Folder holding Fashion-MNIST's IDX files (default /usr/share/datasets/fashion-mnist).", "DIR");
    private readonly Option<string?> _labelColumn = CommonOptions.CreateOptional<string>("--label-column", "Label column of a CSV file (default: 'label' if present, else the last column).", "NAME");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_dataset, _dataDir, _labelColumn];

    /// <summary>The <c>--dataset</c> option itself (the dashboard may override it).</summary>
    public Option<string> Dataset => _dataset;

    /// <summary><c>--dataset</c>.</summary>
    public string Name(ParseResult parse) => parse.GetValue(_dataset)!;

    /// <summary><c>--data-dir</c>.</summary>
    public string? DataDir(ParseResult parse) => parse.GetValue(_dataDir);

    /// <summary><c>--label-column</c>.</summary>
    public string? LabelColumn(ParseResult parse) => parse.GetValue(_labelColumn);
}
