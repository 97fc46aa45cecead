using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Miil.ML.Testing;

/// <summary>The checkout the tests were built from (recorded at build time), for tests that read its docs or run its examples.</summary>
internal static partial class Repository
{
    public static string Root => typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "MiilRepositoryRoot")?.Value
        ?? throw new InvalidOperationException("The test assembly does not record the repository root (MiilRepositoryRoot).");

    /// <summary>The version Directory.Packages.props pins for <paramref name="package"/> (its MSBuild properties resolved).</summary>
    public static string PackageVersion(string package)
    {
        XDocument props = XDocument.Load(Path.Combine(Root, "Directory.Packages.props"));
        Dictionary<string, string> properties = props.Descendants("PropertyGroup").Elements().ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());
        string version = props.Descendants("PackageVersion").FirstOrDefault(e => (string?)e.Attribute("Include") == package)?.Attribute("Version")?.Value
            ?? throw new InvalidOperationException($"Directory.Packages.props pins no version of {package}.");
        return Property().Replace(version, m => properties[m.Groups[1].Value]);
    }

    [GeneratedRegex(@"\$\((\w+)\)")]
    private static partial Regex Property();
}
