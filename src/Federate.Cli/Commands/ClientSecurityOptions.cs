using System.CommandLine;
using Federate.Security;

namespace Federate.Cli.Commands;

/// <summary>Security options of <c>federate client</c>: <c>--kit</c>.</summary>
internal sealed class ClientSecurityOptions : OptionGroup
{
    private readonly Option<string?> _kit = CommonOptions.CreateOptional<string>("--kit", "This site's startup kit from 'federate provision': TLS with the project CA, challenge-response registration.", "DIR");

    /// <inheritdoc />
    protected override IEnumerable<Option> Options => [_kit];

    /// <summary>Loads the kit, or returns null without --kit.</summary>
    public LoadedClientKit? Load(ParseResult parse)
    {
        var dir = parse.GetValue(_kit);
        if (dir is null)
        {
            return null;
        }

        try
        {
            var kit = StartupKit.Load(dir);
            if (kit.Settings.Role != KitRoles.Client)
            {
                var role = kit.Settings.Role;
                kit.Dispose();
                throw new UsageException($"'{dir}' is a kit for the role '{role}'; 'federate client' needs a client kit");
            }

            var s = kit.Settings;
            return new LoadedClientKit(new ClientIdentity(kit), s.ServerHosts.Count > 0 ? $"{s.ServerHosts[0]}:{s.ServerPort}" : null);
        }
        catch (SecurityException ex)
        {
            throw new UsageException(ex.Message);
        }
    }
}
