using Microsoft.ML;
using Miil.ML.Cli.Output;
using Miil.ML.Evaluation;
using Miil.ML.IO;
using Miil.ML.Reports;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Cli.Commands;

/// <summary>What <c>miil train</c> leaves in its output folder, each file written whole (a temporary file and a rename).</summary>
internal static class TrainOutputs
{
    public const string ModelOnnx = "model.onnx";
    public const string ModelZip = "model.zip";
    public const string Checkpoint = "model.safetensors";
    public const string Report = "report.html";
    public const string Metrics = "metrics.json";
    public const string LogFile = "train.log";
    public const string SettingsExtension = ".mbconfig";

    public static TrainResult Write(MLContext ml, TResNetAslTransformer model, IDataView train, IDataView validation, TrainSettings settings, string output,
        double trainingSeconds, TrainLog log)
    {
        model.SaveOnnx(Path.Combine(output, ModelOnnx));
        // The scoring part (images in, Score and PredictedLabels out) in ML.NET's zip: what LoadModel and the generated project read.
        SaveZip(ml, model, train.Schema, Path.Combine(output, ModelZip));
        // The network itself, for float16 export and further fine-tuning ('miil export', '--model model.safetensors').
        model.SaveCheckpoint(Path.Combine(output, Checkpoint));

        // The validation set scored once, for the report and its metrics.
        MultiLabelReportContent report = ml.MultiLabel()
            .BuildReport(model.Transform(validation), options: new ReportOptions { Title = $"{settings.Name}: {settings.Model} on {Path.GetFileName(settings.Dataset)} (validation set)" })
            .WithTraining(model.History);
        WriteText(Path.Combine(output, Report), MultiLabelReport.ToHtml(report));
        MultiLabelMetrics metrics = report.Metrics;
        WriteText(Path.Combine(output, Metrics), MultiLabelReport.ToJson(metrics));

        var result = new TrainResult(model.History.Epochs.Count, model.History.SelectedEpoch, model.History.SelectedWeights.ToString(), metrics.MeanAveragePrecision,
            Math.Round(trainingSeconds, 1), model.Precision.ToString(), model.ImageSize, model.ClassNames.Count);
        WriteSettings(output, settings with { Result = result });
        log.Line($"Validation: mAP {100 * metrics.MeanAveragePrecision:F2}%, CF1 {100 * metrics.AtThreshold.CF1:F2}%, OF1 {100 * metrics.AtThreshold.OF1:F2}% on {metrics.SampleCount} images.");
        return result;
    }

    /// <summary>The settings file that <c>miil train --config</c> replays.</summary>
    public static void WriteSettings(string output, TrainSettings settings)
        => WriteText(Path.Combine(output, settings.Name + SettingsExtension), Terminal.ToJson(settings));

    /// <summary>A text file, written whole.</summary>
    public static void WriteText(string path, string text) => AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>ML.NET's model zip, written beside and renamed over: a reader never sees half a zip, a failed save leaves the old one.</summary>
    public static void SaveZip(MLContext ml, ITransformer model, DataViewSchema schema, string path)
    {
        string partial = path + ".partial";
        ml.Model.Save(model, schema, partial);
        File.Move(partial, path, overwrite: true);
    }
}
