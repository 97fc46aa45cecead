using System.Diagnostics;
using System.Text;

namespace Miil.ML.Repository.Tests.Infrastructure;

/// <summary>Runs the dotnet CLI in a clean child process and returns its output, failing the test on a non-zero exit.</summary>
internal static class DotNet
{
    public static string Run(string workingDirectory, params string[] arguments)
    {
        using Process process = Start(arguments, out StringBuilder output, workingDirectory);
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} timed out in {workingDirectory}:\n{output}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"dotnet {string.Join(' ', arguments)} exited {process.ExitCode} in {workingDirectory}:\n{output}");
        }
        return output.ToString();
    }

    /// <summary>Starts <c>dotnet</c> with the arguments; standard output and errors collect into <paramref name="output"/>.</summary>
    public static Process Start(string[] arguments, out StringBuilder output, string? workingDirectory = null)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        // The test host runs under an outer 'dotnet test'; its MSBuild variables would steer a child build.
        foreach (string key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

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
