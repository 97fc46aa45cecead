namespace Miil.ML.Cli;

/// <summary>A failure the command already put in the user's words (what is wrong and what to do), with its exit code.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Usage) : Exception(message)
{
    /// <summary>The process's exit code.</summary>
    public int ExitCode { get; } = exitCode;
}
