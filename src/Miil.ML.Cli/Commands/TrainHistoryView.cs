using Miil.ML.Cli.Output;
using Miil.ML.Reports;

namespace Miil.ML.Cli.Commands;

/// <summary>The epochs of a run as a table, and which one was kept.</summary>
internal static class TrainHistoryView
{
    public static void Write(Terminal terminal, TrainingHistory history)
    {
        terminal.Table("Training", ["Epoch", "Loss", "Validation mAP", "EMA mAP", "Images/s"],
            history.Epochs.Select(e => (IReadOnlyList<string>)[$"{e.Epoch}", $"{e.Loss:F4}", Percent(e.ValidationMap), Percent(e.EmaValidationMap), $"{e.ImagesPerSecond:F0}"]));
        terminal.Info($"Kept epoch {history.SelectedEpoch} ({history.SelectedWeights} weights).");
    }

    public static string Percent(double? value) => value is double v ? $"{100 * v:F2}%" : "-";
}
