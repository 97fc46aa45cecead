using System.Reflection;

namespace Miil.ML.Repository.Tests.Packaging;

/// <summary>
/// The public surface of each package is what its PublicAPI.*.txt declare (the analyzer makes an
/// undeclared change a build error; this checks the files against the built assemblies from the other
/// side, type by type), and it stays a size a user can hold in their head: issue 25 halved it from 126
/// types, and a type that joins it must be declared and counted here on purpose.
/// </summary>
[TestClass]
public sealed class PublicSurfaceTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The packages and the most public types each may have (the count when this was last reviewed).</summary>
    public static IEnumerable<object[]> Packages() =>
    [
        [typeof(Miil.ML.MultiLabelCatalog).Assembly.GetName().Name!, 30],
        [typeof(Miil.ML.Onnx.MultiLabelOnnxCatalog).Assembly.GetName().Name!, 19],
        // 28, then issue 26's second family: ResNet (the network a user loads and fine-tunes), ResNetArchitecture
        // (its variants) and NetworkArchitecture (what the trainer's Architecture option takes, either family).
        [typeof(Miil.ML.TorchSharp.MultiLabelTorchSharpCatalog).Assembly.GetName().Name!, 31],
    ];

    [TestMethod]
    [DynamicData(nameof(Packages))]
    public void ThePublicTypesAreTheDeclaredOnes(string package, int ceiling)
    {
        Assembly assembly = Assembly.Load(package);
        string[] actual = assembly.GetExportedTypes().Select(t => t.FullName!.Replace('+', '.')).Order(StringComparer.Ordinal).ToArray();
        string[] declared = DeclaredTypes(package).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(declared, actual,
            $"{package}: public types not declared: {string.Join(", ", actual.Except(declared))}; declared but not public: {string.Join(", ", declared.Except(actual))}");
        TestContext.WriteLine($"{package}: {actual.Length} public types");
        Assert.IsLessThanOrEqualTo(ceiling, actual.Length, $"{package} has {actual.Length} public types; raise the ceiling here only with a user story for each new one");
    }

    /// <summary>A PublicAPI line that names a type: no member signature, no accessor (a type's own line is its full name alone).</summary>
    private static IEnumerable<string> DeclaredTypes(string package)
    {
        string folder = Path.Combine(Testing.Repository.Root, "src", package);
        var lines = new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" }
            .SelectMany(f => File.ReadAllLines(Path.Combine(folder, f)))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.StartsWith("*REMOVED*", StringComparison.Ordinal) ? "" : l)
            .ToHashSet(StringComparer.Ordinal);
        // A type's line is a prefix of its members' lines ("T.Member..."); enum members and constants are "T.Name = ..." or "T.Name -> ...".
        return lines.Where(l => l.Length > 0 && !l.Contains('(') && !l.Contains(" -> ", StringComparison.Ordinal) && !l.Contains(" = ", StringComparison.Ordinal)
            && !l.EndsWith(".get", StringComparison.Ordinal) && !l.EndsWith(".set", StringComparison.Ordinal) && !l.EndsWith(".init", StringComparison.Ordinal)
            && lines.Any(m => m.StartsWith(l + ".", StringComparison.Ordinal) || m == l));
    }
}
