using System.CommandLine;
using Federate.Security;

namespace Federate.Cli.Commands;

/// <summary><c>federate provision</c>: a project CA and startup kits; <c>add-client</c>, <c>revoke</c>.</summary>
internal static class ProvisionCommand
{
    public static Command Create(TextWriter output)
    {
        var name = CommonOptions.CreateOptional<string>("--name", "Project name (required).", "PROJECT");
        var server = CommonOptions.CreateOptional<string>("--server", "Host names or addresses of the server, comma separated (the certificate's SANs; required).", "HOST[,HOST...]");
        var port = CommonOptions.Create("--port", "The server's port, written into the kits.", 9092, "PORT");
        var clients = CommonOptions.Create("--clients", "Client (site) names, comma separated.", "", "A,B,...");
        var admins = CommonOptions.Create("--admins", "Admin names, comma separated.", "", "X,...");
        var outDir = CommonOptions.Create("--out", "Output folder: _project/ (the CA: keep it offline) and one kit folder per participant.", "kits", "DIR");
        var validity = CommonOptions.Create("--validity", "Certificate validity in days.", 365, "DAYS");
        var command = new Command("provision", "Create a project's root CA and a startup kit per participant (server, clients, admins).")
        {
            name, server, port, clients, admins, outDir, validity,
        };
        command.SetAction(parse =>
        {
            var project = parse.GetValue(name) ?? throw new UsageException("--name PROJECT is required");
            var hosts = Split(parse.GetValue(server) ?? throw new UsageException("--server HOST[,HOST...] is required"));
            var written = Provisioner.Create(project, hosts, parse.GetValue(port), Split(parse.GetValue(clients)!), Split(parse.GetValue(admins)!), parse.GetValue(outDir)!, parse.GetValue(validity));
            foreach (var dir in written)
            {
                output.WriteLine($"kit: {dir}");
            }

            output.WriteLine($"project '{project}': CA in {Path.Combine(parse.GetValue(outDir)!, Provisioner.ProjectFolder)} (keep it offline; it signs new kits and revocations)");
            return ExitCodes.Success;
        });

        var addName = new Argument<string>("NAME") { Description = "The new participant's name (its certificate's CN)." };
        var addOut = CommonOptions.Create("--out", "The project's provisioning folder.", "kits", "DIR");
        var asAdmin = new Option<bool>("--admin") { Description = "Add an admin instead of a client." };
        var add = new Command("add-client", "Add a site (or, with --admin, an admin) to a project; other kits are untouched, the server kit's enrolment list gains the name.") { addName, addOut, asAdmin };
        add.SetAction(parse =>
        {
            var dir = Provisioner.Add(parse.GetValue(addOut)!, parse.GetValue(addName)!, parse.GetValue(asAdmin) ? KitRoles.Admin : KitRoles.Client);
            output.WriteLine($"kit: {dir}");
            output.WriteLine("the server kit's participants.json was updated; a running server picks it up at the next registration");
            return ExitCodes.Success;
        });
        command.Subcommands.Add(add);

        var revokeName = new Argument<string>("NAME") { Description = "The participant to revoke." };
        var revokeOut = CommonOptions.Create("--out", "The project's provisioning folder.", "kits", "DIR");
        var revoke = new Command("revoke", "Revoke a participant's certificate (the server kit's signed revoked.json gains it).") { revokeName, revokeOut };
        revoke.SetAction(parse =>
        {
            Provisioner.Revoke(parse.GetValue(revokeOut)!, parse.GetValue(revokeName)!);
            output.WriteLine($"revoked '{parse.GetValue(revokeName)}'; a running server refuses it from its next call (copy server/revoked.json to the server if it runs elsewhere)");
            return ExitCodes.Success;
        });
        command.Subcommands.Add(revoke);
        return command;
    }

    /// <summary><c>federate admin token</c>: a bearer token for the inspector and control API.</summary>
    public static Command CreateAdmin(TextWriter output)
    {
        var kit = CommonOptions.CreateOptional<string>("--kit", "An admin startup kit (required).", "DIR");
        var ttl = CommonOptions.Create("--ttl", "Token lifetime in minutes (at most 1440).", 60.0, "MINUTES");
        var token = new Command("token", "Print a bearer token signed by an admin kit (send it as 'Authorization: Bearer TOKEN').") { kit, ttl };
        token.SetAction(parse =>
        {
            var dir = parse.GetValue(kit) ?? throw new UsageException("--kit DIR (an admin kit) is required");
            try
            {
                using var loaded = StartupKit.Load(dir, KitRoles.Admin);
                output.WriteLine(AdminTokens.Create(loaded, TimeSpan.FromMinutes(parse.GetValue(ttl))));
            }
            catch (SecurityException ex)
            {
                throw new UsageException(ex.Message);
            }

            return ExitCodes.Success;
        });
        return new Command("admin", "Admin credentials.") { token };
    }

    private static List<string> Split(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
