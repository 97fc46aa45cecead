using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Training;
using Spectre.Console;

namespace Miil.ML.Examples;

/// <summary>
/// Shows training progress (and the download of pretrained weights): a Spectre.Console progress bar, or
/// plain lines when output is redirected. Shared by the example applications.
/// </summary>
internal sealed class ConsoleProgress(bool plain) : IProgress<TrainingProgress>, IProgress<HubDownloadProgress>
{
    private long _lastPlainDownloadReport;

    private ProgressTask? _bar;

    public T Run<T>(Func<T> fit)
    {
        if (plain)
        {
            return fit();
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                _bar = context.AddTask("Training", maxValue: 1);
                result = fit();
                _bar.Value = _bar.MaxValue;
            });
        return result;
    }

    public void Report(TrainingProgress p)
    {
        string validation = p.ValidationMap is double v ? $", last validation mAP {100 * v:F1}%" + (p.EmaValidationMap is double e ? $" (EMA {100 * e:F1}%)" : "") : "";
        if (p.Phase == TrainingPhase.Exporting)
        {
            if (_bar is not null)
            {
                _bar.Description = "Exporting the selected model to ONNX";
            }
            else
            {
                Console.WriteLine("Exporting the selected model to ONNX ...");
            }
            return;
        }
        if (_bar is not null)
        {
            _bar.MaxValue = Math.Max(1, (double)p.Epochs * p.StepsPerEpoch);
            _bar.Value = (p.Epoch - 1) * (double)p.StepsPerEpoch + p.Step;
            _bar.Description = Markup.Escape($"{p.Phase} epoch {p.Epoch}/{p.Epochs}, loss {p.Loss:F3}, {p.ImagesPerSecond:F0} img/s{validation}");
            return;
        }
        // Plain output: one line per validated epoch.
        if (p.Phase == TrainingPhase.EpochCompleted)
        {
            Console.WriteLine($"Epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F4}, {p.ImagesPerSecond:F0} images/s{validation}");
        }
    }

    public void Report(HubDownloadProgress p)
    {
        string total = p.TotalBytes is long t ? $" of {t / 1048576.0:F1} MiB" : "";
        string text = $"Downloading {p.Source}: {p.BytesReceived / 1048576.0:F1} MiB{total}, {p.BytesPerSecond / 1048576.0:F1} MiB/s";
        if (_bar is not null)
        {
            _bar.MaxValue = Math.Max(1, p.TotalBytes ?? p.BytesReceived);
            _bar.Value = p.BytesReceived;
            _bar.Description = Markup.Escape(text);
            return;
        }
        // Plain output: a line every 10% (or 50 MiB when the size is unknown), and at the end.
        long step = p.TotalBytes is long size ? Math.Max(1, size / 10) : 50L << 20;
        if (p.BytesReceived - _lastPlainDownloadReport >= step || p.BytesReceived == p.TotalBytes)
        {
            _lastPlainDownloadReport = p.BytesReceived;
            Console.WriteLine(text);
        }
    }
}
