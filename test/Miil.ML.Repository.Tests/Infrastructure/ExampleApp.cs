using Miil.ML.Testing;

namespace Miil.ML.Repository.Tests.Infrastructure;

/// <summary>Runs an example application as the solution build produced it (same configuration as the tests).</summary>
internal static class ExampleApp
{
    /// <summary>The built dll of the application <paramref name="name"/> under <paramref name="parent"/> (relative to the checkout).</summary>
    public static string Dll(string name, string parent = "examples")
    {
        string root = Testing.Repository.Root;
        // The tests run from bin/<Configuration>/net10.0; the solution build puts the examples in the same configuration.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string dll = Path.Combine(root, parent, name, "bin", configuration, "net10.0", name + ".dll");
        Assert.IsTrue(File.Exists(dll), $"{dll} is missing: build the solution (dotnet build Miil.ML.sln) before testing.");
        return dll;
    }
}
