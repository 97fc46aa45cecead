using Miil.ML.Cli.Output;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Hub;

namespace Miil.ML.Cli;

/// <summary>
/// Turns an exception into the one line a user reads (the library's messages already name the file, column,
/// option or value) and the exit code a script tests; the stack trace only with <c>--verbosity diag</c>.
/// </summary>
internal static class Failures
{
    public static int Report(Exception e, Terminal terminal, string command)
    {
        e = Unwrap(e);
        int code = e switch
        {
            CliException cli => cli.ExitCode,
            OperationCanceledException => ExitCodes.Canceled,
            HubDownloadException => ExitCodes.Environment,
            FileNotFoundException or DirectoryNotFoundException or InvalidDataException or CheckpointFormatException => ExitCodes.Input,
            ArgumentException => ExitCodes.Input,
            InvalidOperationException => ExitCodes.Input,
            UnauthorizedAccessException => ExitCodes.Environment,
            IOException => ExitCodes.Environment,
            _ => ExitCodes.Failed,
        };
        string message = e is OperationCanceledException ? "stopped." : OneLine(e is ArgumentException a && a.ParamName is string p
            ? a.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : e.Message);
        terminal.Error($"miil {command}: {message}");
        if (terminal.Verbosity == Verbosity.Diagnostic)
        {
            terminal.Error(e.ToString());
        }
        else if (code == ExitCodes.Failed)
        {
            terminal.Error("Run again with --verbosity diag for the stack trace.");
        }
        return code;
    }

    /// <summary>The exception a user caused, under the wrappers of ML.NET's data pipeline and of tasks.</summary>
    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } || (e.InnerException is not null && e is System.Reflection.TargetInvocationException))
        {
            e = e.InnerException!;
        }
        return e;
    }

    /// <summary>Messages that span lines (a parameter name appended by ArgumentException) fold into one.</summary>
    private static string OneLine(string message)
        => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
