using System.Diagnostics;
using System.Text;

namespace Miil.ML.Repository.Tests.Infrastructure;

/// <summary>Runs the dotnet CLI in a clean child process and returns its output, failing the test on a non-zero exit.</summary>
internal static class DotNet
{
    public static string Run(string workingDirectory, params string[] arguments)
    {
        using Process process = Start(arguments, out StringBuilder output, workingDirectory);
        if (!process.WaitForExit(Testing.ChildDotNet.HangLimit))
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
        var text = new StringBuilder();
        output = text;
        // Lines arrive on two reader threads; reading the text while the process runs needs the same lock.
        return Testing.ChildDotNet.Start(arguments, line => { lock (text) { text.AppendLine(line); } }, workingDirectory);
    }
}
