using System.Diagnostics;

namespace Miil.ML.Testing;

/// <summary>
/// Starts <c>dotnet</c> (the host running this process when it says so) as a child process with a clean
/// environment, handing every line of its standard output and errors to a callback: what the repository
/// tests and the benchmarks' soak and serving commands run example applications with. The callback runs
/// on the output and the error reader threads, possibly at once: it locks what it writes to.
/// </summary>
internal static class ChildDotNet
{
    /// <summary>
    /// How long a child may run before a test calls it hung: a guard against hangs, not a speed target,
    /// so it is far above any run's time on a loaded 2-core machine (the suite's assemblies run at once).
    /// </summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(20);

    public static Process Start(IEnumerable<string> arguments, Action<string> onLine, string? workingDirectory = null)
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
        // Under an outer 'dotnet test' the test host's MSBuild variables would steer a child build.
        foreach (string key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { onLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { onLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
