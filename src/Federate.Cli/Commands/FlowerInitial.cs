using System.Globalization;
using Federate.Core;

namespace Federate.Cli.Commands;

/// <summary><c>federate server --model none</c>: the initial model comes from one client's parameters (Flower's way).</summary>
internal static class FlowerInitial
{
    /// <summary>Asks a connected client for its parameters; null (after an error line) when none gave any.</summary>
    public static async Task<ArrayRecord?> AskAsync(IGrid grid, RunOptions run, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var model = await InitialParameters.FromClientAsync(grid, run.RunId, run.RoundTimeout, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"initial parameters from a client: {model.Count} tensors, {model.ElementCount} values")).ConfigureAwait(false);
            return model;
        }
        catch (InvalidOperationException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("error: stopped by the operator before a client gave the initial parameters").ConfigureAwait(false);
            return null;
        }
    }
}
