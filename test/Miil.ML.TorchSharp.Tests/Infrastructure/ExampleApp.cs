using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Miil.ML.TorchSharp.Tests.Infrastructure;

/// <summary>Runs an example application as the solution build produced it (same configuration as the tests).</summary>
internal static class ExampleApp
{
    public static string Dll(string name)
    {
        string root = typeof(ExampleApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "MiilRepositoryRoot").Value!;
        // The tests run from bin/<Configuration>/net10.0; the solution build puts the examples in the same configuration.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string dll = Path.Combine(root, "examples", name, "bin", configuration, "net10.0", name + ".dll");
        Assert.IsTrue(File.Exists(dll), $"{dll} is missing: build the solution (dotnet build Miil.ML.sln) before testing.");
        return dll;
    }

    /// <summary>Starts <c>dotnet</c> with the arguments; output and errors collect into <paramref name="output"/>.</summary>
    public static Process Start(string[] arguments, out StringBuilder output, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        var text = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (text) { text.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (text) { text.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = text;
        return process;
    }
}
