using Microsoft.Extensions.Options;

namespace Federate.Server.Internal;

/// <summary>Validates <see cref="FleetServerOptions"/> (and its inspector settings) at start: one one-line failure.</summary>
internal sealed class FleetServerOptionsValidator : IValidateOptions<FleetServerOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetServerOptions options) =>
        (options.Validate() ?? options.Inspector?.Validate()) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
