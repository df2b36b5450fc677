using System.CommandLine;
using Federate.Server;

namespace Federate.Cli.Commands;

/// <summary><c>federate server</c>'s inspector options: dashboard port, manual rounds, design 2's demo, admin token.</summary>
internal sealed class InspectorCliOptions : OptionGroup
{
    /// <summary>The round limit of a demo when --rounds is not given: the operator drives it.</summary>
    public const int DemoRounds = 1000;

    private readonly Option<int> _port = CommonOptions.Create("--inspector-port", "Port of the inspector: web dashboard and JSON API over HTTP/1.1 (0 picks a free one; same --host).", 9093, "PORT");
    private readonly Option<bool> _off = new("--no-inspector") { Description = "Do not serve the inspector." };
    private readonly Option<bool> _manual = new("--manual") { Description = "Start each round by hand from the inspector (next round, start run); the server stays up after the run for a reset." };
    private readonly Option<bool> _demo = new("--demo") { Description = "Design 2's demo: manual rounds, synthetic sensor data that clients generate on command (--dataset synthetic-sensors), demo actions in the inspector." };
    private readonly Option<string?> _adminToken = CommonOptions.CreateOptional<string>("--admin-token", "Admin actions of the inspector (start, stop, reset, next round, client weights) need 'Authorization: Bearer TOKEN'.", "TOKEN");
    private readonly Option<bool> _keepWeights = new("--keep-client-weights") { Description = "Keep each client's latest update for admin download from the inspector (memory grows with clients x model)." };

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_port, _off, _manual, _demo, _adminToken, _keepWeights];

    public bool Demo(ParseResult parse) => parse.GetValue(_demo);

    /// <summary>Sets <see cref="FleetServerOptions.Inspector"/> and the admin authenticator from the options.</summary>
    public void Configure(ParseResult parse, FleetServerOptions options)
    {
        bool demo = parse.GetValue(_demo);
        bool manual = parse.GetValue(_manual) || demo;
        if (parse.GetValue(_off))
        {
            var needs = demo ? "--demo" : manual ? "--manual" : parse.GetValue(_keepWeights) ? "--keep-client-weights" : parse.GetValue(_adminToken) is not null ? "--admin-token" : null;
            if (needs is not null)
            {
                throw new UsageException($"{needs} needs the inspector; drop --no-inspector");
            }

            return;
        }

        options.Inspector = new InspectorOptions
        {
            Port = parse.GetValue(_port),
            Manual = manual,
            Demo = demo,
            KeepClientWeights = parse.GetValue(_keepWeights),
        };
        if (parse.GetValue(_adminToken) is { } token)
        {
            if (string.IsNullOrWhiteSpace(token))
            {
                throw new UsageException("--admin-token must not be empty");
            }

            options.AdminAuthenticator = new SharedTokenAdminAuthenticator(token);
        }
    }

    /// <summary>--dataset, defaulting to synthetic-sensors in a demo.</summary>
    public string Dataset(ParseResult parse, Option<string> dataset) =>
        parse.GetValue(_demo) && parse.GetResult(dataset) is null or { Implicit: true } ? SyntheticSensors.Name : parse.GetValue(dataset)!;

    /// <summary>--rounds, defaulting to <see cref="DemoRounds"/> in a demo.</summary>
    public int Rounds(ParseResult parse, Option<int> rounds) =>
        parse.GetValue(_demo) && parse.GetResult(rounds) is null or { Implicit: true } ? DemoRounds : parse.GetValue(rounds);
}
