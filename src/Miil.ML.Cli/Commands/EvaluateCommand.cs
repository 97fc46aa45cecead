using System.CommandLine;
using Microsoft.ML;
using Miil.ML.Cli.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Reports;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil evaluate</c>: a model on a labelled set, the metrics as a table, JSON, report.html and metrics.json.</summary>
internal static class EvaluateCommand
{
    private static readonly Option<string> Model = TrainedModel.Option();
    private static readonly DatasetOptions Data = new();
    private static readonly Option<string?> Output = new("--output", "-o") { Description = "Folder for report.html and metrics.json (default: print only)" };

    public static Command Create()
    {
        var command = new Command("evaluate", "Score a labelled set with a trained model and report mAP, CP/CR/CF1 and OP/OR/OF1 (the ASL paper's metrics) per class and overall.\n\n"
            + "Examples:\n  miil evaluate -m out/model.zip -d test.csv\n  miil evaluate -m out -d VOCdevkit/VOC2007 --voc-split test -o eval --json");
        command.Add(Model);
        Data.AddTo(command);
        command.Add(Output);
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            var ml = new MLContext(seed: 0);
            string path = TrainedModel.Path(parsed.GetValue(Model)!);
            using ImageScoringTransformer model = TrainedModel.Load(ml, path);
            DatasetReader.Loaded data = DatasetReader.Read(ml, parsed, Data.Dataset, model.Model.ClassNames);
            terminal.Info($"Scoring {data.Rows} images of '{data.Path}' with '{path}' ({model.Model.ClassNames.Count} classes, {model.Model.ImageSize} px, {model.Device}) ...");
            MultiLabelReportContent report = ml.MultiLabel().BuildReport(model.Transform(data.Data),
                options: new ReportOptions { Title = $"{Path.GetFileName(path)} on {Path.GetFileName(data.Path)}" });
            MultiLabelMetrics metrics = report.Metrics;
            MetricsView.Write(terminal, metrics, $"{Path.GetFileName(path)} on {Path.GetFileName(data.Path)}");
            if (parsed.GetValue(Output) is string output)
            {
                string folder = Path.GetFullPath(output);
                TrainOutputs.WriteText(Path.Combine(folder, TrainOutputs.Report), MultiLabelReport.ToHtml(report));
                TrainOutputs.WriteText(Path.Combine(folder, TrainOutputs.Metrics), MultiLabelReport.ToJson(metrics));
                terminal.Result($"Wrote {TrainOutputs.Report} and {TrainOutputs.Metrics} in '{folder}'.");
            }
            terminal.Result($"mAP {100 * metrics.MeanAveragePrecision:F2}% on {metrics.SampleCount} images.");
            if (terminal.Json)
            {
                Console.Out.WriteLine(MultiLabelReport.ToJson(metrics));
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
