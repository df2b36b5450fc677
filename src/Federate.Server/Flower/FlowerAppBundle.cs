using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Federate.Server.Flower;

/// <summary>
/// The Flower app bundle (FAB) SuperNodes download with <c>GetFab</c>: a <c>.fab</c> file as it is, or one built
/// from an app folder the way <c>flwr build</c> does (a zip of the app's <c>.py</c>, <c>.toml</c> and <c>.md</c>
/// files, <c>__pycache__</c> and <c>.gitignore</c>d paths left out, <c>pyproject.toml</c> without its
/// <c>[tool.flwr.federations]</c> tables, and <c>.info/CONTENT</c> listing each file's SHA-256 and size in bits).
/// </summary>
internal sealed partial class FlowerAppBundle
{
    private static readonly DateTime FabDate = new(2024, 10, 1, 0, 0, 0, DateTimeKind.Unspecified);
    private static readonly string[] AllowedExtensions = [".py", ".toml", ".md"];

    private FlowerAppBundle(byte[] content, IReadOnlyDictionary<string, string> project)
    {
        Content = content;
        Hash = Convert.ToHexStringLower(SHA256.HashData(content));
        string Require(string key) => project.TryGetValue(key, out var v) && v.Length > 0
            ? v
            : throw new InvalidDataException($"the Flower app's pyproject.toml has no '{key}' (a Flower app sets [project] name and version, [tool.flwr.app] publisher and [tool.flwr.app.components] clientapp)");
        FabId = $"{Require("tool.flwr.app.publisher")}/{Require("project.name")}";
        Version = Require("project.version");
        _ = Require("tool.flwr.app.components.clientapp");
    }

    /// <summary>The bundle's bytes (a zip).</summary>
    public byte[] Content { get; }

    /// <summary>SHA-256 of <see cref="Content"/>, lowercase hex (Flower's <c>fab_hash</c>).</summary>
    public string Hash { get; }

    /// <summary>Flower's <c>fab_id</c>: <c>publisher/name</c>.</summary>
    public string FabId { get; }

    /// <summary>The app's version.</summary>
    public string Version { get; }

    /// <summary>Loads a <c>.fab</c> file or builds the bundle of an app folder.</summary>
    /// <exception cref="InvalidDataException">The path is not a Flower app (one line naming the problem).</exception>
    public static FlowerAppBundle Load(string path)
    {
        if (Directory.Exists(path))
        {
            var content = Build(path);
            return new FlowerAppBundle(content, ReadProject(File.ReadAllText(Path.Combine(path, "pyproject.toml"))));
        }

        if (!File.Exists(path))
        {
            throw new InvalidDataException($"--flower-app '{path}' is neither a Flower app folder nor a .fab file");
        }

        var bytes = File.ReadAllBytes(path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        }
        catch (InvalidDataException)
        {
            throw new InvalidDataException($"--flower-app '{path}' is not a .fab (zip) file");
        }

        using (zip)
        {
            var entry = zip.GetEntry("pyproject.toml") ?? throw new InvalidDataException($"--flower-app '{path}' holds no pyproject.toml (is it a .fab built by 'flwr build'?)");
            using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
            return new FlowerAppBundle(bytes, ReadProject(reader.ReadToEnd()));
        }
    }

    /// <summary>Builds the bundle of an app folder (see the class summary); the same folder gives the same bytes.</summary>
    public static byte[] Build(string folder)
    {
        var root = Path.GetFullPath(folder);
        var pyproject = Path.Combine(root, "pyproject.toml");
        if (!File.Exists(pyproject))
        {
            throw new InvalidDataException($"--flower-app '{folder}' has no pyproject.toml (give a Flower app folder, as 'flwr new' makes, or a .fab file)");
        }

        var ignore = ReadGitignore(root);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(rel => AllowedExtensions.Contains(Path.GetExtension(rel), StringComparer.Ordinal) && Path.GetFileName(rel) != "pyproject.toml" && !IsIgnored(rel, ignore))
            .Order(StringComparer.Ordinal)
            .ToList();

        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Write(zip, "pyproject.toml", Encoding.UTF8.GetBytes(WithoutFederations(File.ReadAllText(pyproject))));
            var list = new StringBuilder();
            foreach (var rel in files)
            {
                var content = File.ReadAllBytes(Path.Combine(root, rel));
                Write(zip, rel, content);
                list.Append(System.Globalization.CultureInfo.InvariantCulture, $"{rel},{Convert.ToHexStringLower(SHA256.HashData(content))},{content.LongLength * 8}\n");
            }

            Write(zip, ".info/CONTENT", Encoding.UTF8.GetBytes(list.ToString()));
        }

        return buffer.ToArray();
    }

    private static void Write(ZipArchive zip, string name, byte[] content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = FabDate;
        using var stream = entry.Open();
        stream.Write(content);
    }

    /// <summary>pyproject.toml without its <c>[tool.flwr.federations...]</c> tables (as <c>flwr build</c> leaves them out).</summary>
    internal static string WithoutFederations(string toml)
    {
        var kept = new StringBuilder();
        bool skipping = false;
        foreach (var line in toml.Split('\n'))
        {
            if (TableHeader().Match(line) is { Success: true } header)
            {
                string table = header.Groups[1].Value.Trim();
                skipping = table == "tool.flwr.federations" || table.StartsWith("tool.flwr.federations.", StringComparison.Ordinal);
            }

            if (!skipping)
            {
                kept.Append(line).Append('\n');
            }
        }

        return kept.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>The <c>table.key = "string"</c> values of a pyproject.toml (enough to name a Flower app).</summary>
    internal static Dictionary<string, string> ReadProject(string toml)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string table = "";
        foreach (var raw in toml.Split('\n'))
        {
            var line = raw.Trim();
            if (TableHeader().Match(line) is { Success: true } header)
            {
                table = header.Groups[1].Value.Trim();
            }
            else if (KeyValue().Match(line) is { Success: true } kv)
            {
                values[$"{table}.{kv.Groups[1].Value.Trim().Trim('"')}"] = kv.Groups[2].Success ? kv.Groups[2].Value : kv.Groups[3].Value;
            }
        }

        return values;
    }

    private static List<string> ReadGitignore(string root)
    {
        var patterns = new List<string> { "__pycache__/" };
        var path = Path.Combine(root, ".gitignore");
        if (File.Exists(path))
        {
            patterns.AddRange(File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('!')));
        }

        return patterns;
    }

    /// <summary>Simple .gitignore matching: a pattern without '/' matches any path segment; one with '/' the path from the root.</summary>
    private static bool IsIgnored(string relative, List<string> patterns)
    {
        var segments = relative.Split('/');
        foreach (var raw in patterns)
        {
            bool directoryOnly = raw.EndsWith('/');
            var pattern = raw.TrimEnd('/');
            if (pattern.TrimStart('/').Contains('/', StringComparison.Ordinal))
            {
                var anchored = pattern.TrimStart('/');
                if (System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(anchored, relative, ignoreCase: false) || relative.StartsWith(anchored + "/", StringComparison.Ordinal))
                {
                    return true;
                }

                continue;
            }

            pattern = pattern.TrimStart('/');
            int last = directoryOnly ? segments.Length - 1 : segments.Length;
            for (int i = 0; i < last; i++)
            {
                if (System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, segments[i], ignoreCase: false))
                {
                    return true;
                }
            }
        }

        return false;
    }

    [GeneratedRegex(@"^\s*\[+([^\]]+)\]+\s*(#.*)?$")]
    private static partial Regex TableHeader();

    [GeneratedRegex(@"^([A-Za-z0-9_.""-]+)\s*=\s*(?:""([^""]*)""|'([^']*)')\s*(#.*)?$")]
    private static partial Regex KeyValue();
}
