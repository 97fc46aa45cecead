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

    /// <summary>Starts <c>dotnet dll args</c> with its output (stdout and stderr) collected line by line.</summary>
    public static Process Start(IEnumerable<string> arguments, List<string> lines)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
