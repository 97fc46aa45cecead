using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Training;
using Spectre.Console;

namespace Miil.ML.Cli.Output;

/// <summary>
/// Training progress: a Spectre.Console bar on a terminal, one line per epoch otherwise (a CI log keeps
/// them), nothing below normal verbosity. Downloads of pretrained weights report through it too.
/// </summary>
internal sealed class TrainingView(Terminal terminal) : IProgress<TrainingProgress>, IProgress<HubDownloadProgress>
{
    private ProgressTask? _bar;
    private long _lastDownloadLine;

    public T Run<T>(Func<T> fit)
    {
        if (!terminal.Interactive || terminal.Verbosity < Verbosity.Normal)
        {
            return fit();
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                _bar = context.AddTask("Training", maxValue: 1);
                try
                {
                    result = fit();
                    _bar.Value = _bar.MaxValue;
                }
                finally
                {
                    _bar.StopTask();
                    _bar = null;
                }
            });
        return result;
    }

    public void Report(TrainingProgress p)
    {
        string validation = p.ValidationMap is double v ? $", validation mAP {100 * v:F1}%" + (p.EmaValidationMap is double e ? $" (EMA {100 * e:F1}%)" : "") : "";
        if (_bar is not null)
        {
            _bar.MaxValue = Math.Max(1, (double)p.Epochs * p.StepsPerEpoch);
            _bar.Value = p.Phase == TrainingPhase.Exporting ? _bar.MaxValue : (p.Epoch - 1) * (double)p.StepsPerEpoch + p.Step;
            _bar.Description = p.Phase == TrainingPhase.Exporting
                ? "Exporting to ONNX"
                : Markup.Escape($"epoch {p.Epoch}/{p.Epochs}, loss {p.Loss:F3}, {p.ImagesPerSecond:F0} img/s{validation}");
            return;
        }
        if (p.Phase == TrainingPhase.EpochCompleted)
        {
            terminal.Info($"Epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F4}, {p.ImagesPerSecond:F0} images/s{validation}");
        }
    }

    public void Report(HubDownloadProgress p)
    {
        string total = p.TotalBytes is long t ? $" of {t / 1048576.0:F1} MiB" : "";
        string text = $"Downloading {p.Source}: {p.BytesReceived / 1048576.0:F1} MiB{total}";
        if (_bar is not null)
        {
            _bar.Description = Markup.Escape(text);
            return;
        }
        long step = p.TotalBytes is long size ? Math.Max(1, size / 10) : 50L << 20;
        if (p.BytesReceived - _lastDownloadLine >= step || p.BytesReceived == p.TotalBytes)
        {
            _lastDownloadLine = p.BytesReceived;
            terminal.Info(text);
        }
    }
}
