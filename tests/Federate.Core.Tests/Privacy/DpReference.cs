using System.Globalization;
using System.Text.Json;

namespace Federate.Core.Tests.Privacy;

/// <summary>Loads the Opacus 1.5.4 reference files copied to TestData/dp.</summary>
internal static class DpReference
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "TestData", "dp", file);

    public static double D(string s) => s switch
    {
        "inf" or "Infinity" => double.PositiveInfinity,
        "-inf" or "-Infinity" => double.NegativeInfinity,
        "nan" or "NaN" => double.NaN,
        _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    public static double D(JsonElement e) => e.ValueKind == JsonValueKind.String ? D(e.GetString()!) : e.GetDouble();

    /// <summary>Rows of a CSV file as column-name -> text dictionaries.</summary>
    public static List<Dictionary<string, string>> Csv(string file)
    {
        var lines = File.ReadAllLines(PathOf(file)).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l =>
        {
            var cells = l.Split(',');
            Assert.Equal(header.Length, cells.Length);
            return header.Zip(cells).ToDictionary(p => p.First, p => p.Second);
        }).ToList();
    }

    public static JsonDocument Json(string file) => JsonDocument.Parse(File.ReadAllText(PathOf(file)));

    public static double RelErr(double actual, double expected)
    {
        if (actual == expected)
        {
            return 0;
        }

        return Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), double.Epsilon);
    }
}
