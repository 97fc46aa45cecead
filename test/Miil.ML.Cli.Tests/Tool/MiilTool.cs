using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Miil.ML.Cli.Tests.Tool;

/// <summary>
/// The tool as a user gets it: the three libraries and the tool packed into a local feed, the tool installed from
/// there with <c>dotnet tool install --tool-path</c>, and <c>miil</c> run as a process. Packed once per test run
/// (the tool for this machine's platform only: every platform's natives would take gigabytes and minutes).
/// </summary>
internal static class MiilTool
{
    private static readonly string[] Libraries = ["Miil.ML", "Miil.ML.Onnx", "Miil.ML.TorchSharp"];

    public static string Feed { get; private set; } = "";

    public static string Version { get; private set; } = "";

    public static string ToolPath { get; private set; } = "";

    public static string Executable => Path.Combine(ToolPath, OperatingSystem.IsWindows() ? "miil.exe" : "miil");

    public static void PackAndInstall()
    {
        Version = "0.0.0-clitest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + Environment.ProcessId;
        Feed = Directory.CreateTempSubdirectory("miil-cli-feed-").FullName;
        ToolPath = Directory.CreateTempSubdirectory("miil-cli-tool-").FullName;
        // Built apart (--artifacts-path): the packaging tests of Miil.ML.Repository.Tests pack the same projects, and
        // test assemblies run at once; two builds in one obj folder would trip over each other.
        string artifacts = Path.Combine(Feed, "artifacts");
        foreach (string library in Libraries)
        {
            DotNet(Testing.Repository.Root, "pack", $"src/{library}/{library}.csproj", "-c", "Release", "-o", Feed, $"-p:Version={Version}", "--artifacts-path", artifacts);
        }
        DotNet(Testing.Repository.Root, "pack", "src/Miil.ML.Cli/Miil.ML.Cli.csproj", "-c", "Release", "-o", Feed, $"-p:Version={Version}", "--artifacts-path", artifacts,
            $"-p:ToolPackageRuntimeIdentifiers={RuntimeInformation.RuntimeIdentifier}");
        Directory.Delete(artifacts, recursive: true);
        DotNet(Testing.Repository.Root, "tool", "install", "Miil.ML.Cli", "--tool-path", ToolPath, "--add-source", Feed, "--version", Version);
    }

    /// <summary>Removes the feed, the installed tool, and the test version's packages from the global packages folder.</summary>
    public static void Remove()
    {
        foreach (string folder in new[] { Feed, ToolPath }.Where(f => f.Length > 0 && Directory.Exists(f)))
        {
            Directory.Delete(folder, recursive: true);
        }
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in Libraries.Append("Miil.ML.Cli").Append("Miil.ML.Cli." + RuntimeInformation.RuntimeIdentifier))
        {
            string folder = Path.Combine(cache, id.ToLowerInvariant(), Version);
            if (Version.Length > 0 && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>A finished run of miil.</summary>
    internal sealed record Run(int ExitCode, string Output, string Errors)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
    }

    /// <summary>Runs miil to the end.</summary>
    public static Run Miil(string workingDirectory, params string[] arguments)
    {
        using Process process = Start(workingDirectory, arguments, out StringBuilder output, out StringBuilder errors);
        if (!process.WaitForExit(Testing.ChildDotNet.HangLimit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"miil {string.Join(' ', arguments)} hung:\n{output}\n{errors}");
        }
        process.WaitForExit();
        lock (output)
        {
            return new Run(process.ExitCode, output.ToString(), errors.ToString());
        }
    }

    /// <summary>Starts miil; its standard output and errors collect into the builders (lock them to read while it runs).</summary>
    public static Process Start(string workingDirectory, string[] arguments, out StringBuilder output, out StringBuilder errors)
    {
        var start = new ProcessStartInfo(Executable) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var o = new StringBuilder();
        var e = new StringBuilder();
        (output, errors) = (o, e);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, d) => { if (d.Data is not null) { lock (o) { o.AppendLine(d.Data); } } };
        process.ErrorDataReceived += (_, d) => { if (d.Data is not null) { lock (o) { e.AppendLine(d.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Asks a process to stop as Ctrl+C does: SIGTERM, which miil handles as it handles SIGINT. (SIGINT itself cannot be
    /// sent here: a process started from a non-interactive shell in the background inherits SIGINT ignored, as shells
    /// keep Ctrl+C from background jobs, and .NET then leaves it ignored.)
    /// </summary>
    public static void Interrupt(Process process)
    {
        using Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public static string DotNet(string workingDirectory, params string[] arguments)
    {
        var text = new StringBuilder();
        using Process process = Testing.ChildDotNet.Start(arguments, line => { lock (text) { text.AppendLine(line); } }, workingDirectory);
        if (!process.WaitForExit(Testing.ChildDotNet.HangLimit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} hung:\n{text}");
        }
        process.WaitForExit();
        lock (text)
        {
            Assert.AreEqual(0, process.ExitCode, $"dotnet {string.Join(' ', arguments)} in {workingDirectory}:\n{text}");
            return text.ToString();
        }
    }
}
