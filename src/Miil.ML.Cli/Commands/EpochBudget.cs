using System.Diagnostics;
using Microsoft.ML;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Cli.Commands;

/// <summary>
/// <c>--train-time</c>: the epochs that fit a budget, from a measured short run (a few steps of the real network,
/// data and settings; <c>mlnet</c> spends its budget the same way, on measured trials). The measurement counts
/// against the budget; validation is costed as a forward pass (a third of a training step) per image, and a tenth
/// of the budget is kept for export and the report.
/// </summary>
internal static class EpochBudget
{
    /// <summary>Steps of the measuring run: enough to pass the first slow steps (allocation, kernel choice).</summary>
    private const int MeasuredSteps = 6;

    public static int Pick(MLContext ml, IDataView train, long trainRows, long validationRows, int budgetSeconds, TimeSpan spent, TResNetAslOptions probe, TrainLog log)
    {
        long rows = Math.Min(trainRows, (long)MeasuredSteps * probe.BatchSize);
        probe.Progress = null;
        probe.FreezeBodyEpochs = 0;            // the body's backward pass is the cost to measure
        probe.Thresholds = new Miil.ML.Evaluation.ThresholdOptions();  // no validation set to tune on
        var clock = Stopwatch.StartNew();
        using TResNetAslTransformer measured = ml.MultiLabel().TResNetAsl(probe).Fit(ml.Data.TakeRows(train, rows));
        double imagesPerSecond = measured.History.Epochs[0].ImagesPerSecond;
        double left = budgetSeconds * 0.9 - spent.TotalSeconds - clock.Elapsed.TotalSeconds;
        double epochSeconds = trainRows / imagesPerSecond + validationRows / (3 * imagesPerSecond);
        int epochs = (int)Math.Clamp(Math.Floor(left / epochSeconds), 1, 10_000);
        log.Line($"--train-time {budgetSeconds} s: measured {imagesPerSecond:F1} images/s on {rows} images ({clock.Elapsed.TotalSeconds:F0} s); "
            + $"an epoch takes about {epochSeconds:F0} s, so {epochs} epoch{(epochs == 1 ? "" : "s")}.");
        return epochs;
    }
}
