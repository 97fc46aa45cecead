using Microsoft.ML;
using Microsoft.ML.Runtime;
using Miil.ML.Cli.Output;

namespace Miil.ML.Cli.Commands;

/// <summary>
/// The run's log file (<c>train.log</c>): what the command told the user and what the trainer reported through
/// ML.NET's log (epochs, resumption, skipped images, warnings), each line with its time.
/// </summary>
internal sealed class TrainLog : IDisposable
{
    private readonly StreamWriter _file;
    private readonly Terminal _terminal;
    private readonly object _lock = new();

    public TrainLog(string path, Terminal terminal)
    {
        _terminal = terminal;
        _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        Write($"miil {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}");
    }

    /// <summary>A line for the user and the log.</summary>
    public void Line(string text)
    {
        _terminal.Info(text);
        Write(text);
    }

    /// <summary>A message of ML.NET's log: the trainer's and scorer's own, and every warning or error.</summary>
    public void Context(LoggingEventArgs e)
    {
        bool ours = e.Source.Contains("TResNetAsl", StringComparison.Ordinal) || e.Source.Contains("Miil", StringComparison.Ordinal);
        if (e.Kind is ChannelMessageKind.Warning or ChannelMessageKind.Error || (ours && e.Kind == ChannelMessageKind.Info))
        {
            Write($"{e.Kind}: {e.RawMessage}");
            if (e.Kind == ChannelMessageKind.Warning)
            {
                _terminal.Warning(e.RawMessage);
            }
            else if (_terminal.Verbosity >= Verbosity.Detailed)
            {
                _terminal.Detail(e.RawMessage);
            }
        }
    }

    private void Write(string text)
    {
        lock (_lock)
        {
            _file.WriteLine($"{DateTime.Now:yyyy-MM-dd HH:mm:ss} {text}");
        }
    }

    public void Dispose() => _file.Dispose();
}
