namespace Federate.Learning.Data;

/// <summary>A dataset with its official test split when it has one (e.g. Fashion-MNIST's t10k).</summary>
/// <param name="Train">Training rows (or all rows when <paramref name="Test"/> is null).</param>
/// <param name="Test">The official test rows, or null.</param>
public sealed record DataSplit(Dataset Train, Dataset? Test);
