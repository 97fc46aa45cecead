using System.Diagnostics;

namespace Miil.ML.Benchmarks;

/// <summary>The example applications as the solution build left them (Release when built, else Debug), run as child processes.</summary>
internal static class ExampleApps
{
    public static string Dll(string name)
    {
        string? root = AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "Miil.ML.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar));
        }
        if (root is null)
        {
            throw new InvalidOperationException("Run the benchmarks from the repository's build output (Miil.ML.sln not found above it).");
        }
        string? dll = new[] { "Release", "Debug" }.Select(c => Path.Combine(root, "examples", name, "bin", c, "net10.0", name + ".dll")).FirstOrDefault(File.Exists);
        return dll ?? throw new InvalidOperationException($"Build the example first: dotnet build -c Release examples/{name}");
    }

    /// <summary>Starts <c>dotnet dll args</c> with its output (stdout and stderr) collected line by line (lock <paramref name="lines"/> to read it meanwhile).</summary>
    public static Process Start(IEnumerable<string> arguments, List<string> lines)
        => Testing.ChildDotNet.Start(arguments, line => { lock (lines) { lines.Add(line); } });
}
