using System.CommandLine;
using Federate.Security;
using Federate.Server;

namespace Federate.Cli.Commands;

/// <summary>Security options of <c>federate server</c>: <c>--kit</c>, <c>--payload-encryption</c>.</summary>
internal sealed class ServerSecurityOptions : OptionGroup
{
    private readonly Option<string?> _kit = CommonOptions.CreateOptional<string>("--kit", "The server's startup kit from 'federate provision': TLS, challenge-response registration, session tokens.", "DIR");
    private readonly Option<string> _encryption = CommonOptions.Create("--payload-encryption", "With --kit: encrypt tensors end to end with a per-session AES-256-GCM key (on or off).", "on", "on|off");
    private readonly Option<int> _rate = CommonOptions.Create("--registrations-per-minute", "With --kit: registration attempts allowed per remote address per minute.", 120, "N");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_kit, _encryption, _rate];

    /// <summary>Loads the kit into <paramref name="options"/> (identity, admin authenticator, payload encryption).</summary>
    public void Configure(ParseResult parse, FleetServerOptions options)
    {
        var dir = parse.GetValue(_kit);
        var encryption = parse.GetValue(_encryption)!;
        if (encryption is not ("on" or "off"))
        {
            throw new UsageException($"--payload-encryption must be on or off, got '{encryption}'");
        }

        if (dir is null)
        {
            return;
        }

        if (options.Insecure)
        {
            throw new UsageException("give either --kit DIR (TLS) or --insecure (development), not both");
        }

        try
        {
            var identity = new ServerIdentity(StartupKit.Load(dir, KitRoles.Server));
            options.Identity = identity;
            options.EncryptPayloads = encryption == "on";
            options.RegistrationsPerMinute = parse.GetValue(_rate);
            options.AdminAuthenticator ??= new KitAdminAuthenticator(identity);
        }
        catch (SecurityException ex)
        {
            throw new UsageException(ex.Message);
        }
    }
}
