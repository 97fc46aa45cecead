using System.CommandLine;
using Microsoft.ML;
using Miil.ML.Cli.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil tune-thresholds</c>: per-class thresholds from a labelled set, written into a copy of the model.</summary>
internal static class TuneThresholdsCommand
{
    private static readonly Option<string> Model = TrainedModel.Option();
    private static readonly DatasetOptions Data = new(description: "Labelled images to tune on (not the test set): a manifest, COCO JSON, VOC folder or class folders");
    private static readonly Option<string> Objective = new("--objective")
    {
        Description = "f1 (each class's best F1) or precision (the lowest threshold that reaches --target-precision)",
        DefaultValueFactory = _ => "f1",
    };
    private static readonly Option<double> TargetPrecision = new("--target-precision") { Description = "The precision to reach with --objective precision", DefaultValueFactory = _ => 0.9 };
    private static readonly Option<bool> Global = new("--global") { Description = "One threshold for every class instead of one per class" };
    private static readonly Option<string> Output = new("--output", "-o") { Description = "The model to write (.zip or .onnx); never the input model", Required = true };

    public static Command Create()
    {
        var command = new Command("tune-thresholds", "Choose each class's decision threshold on a labelled set and write the model with them (the scores are unchanged; PredictedLabels follow the new thresholds).\n\n"
            + "Examples:\n  miil tune-thresholds -m out/model.zip -d validation.csv -o out/model-tuned.zip\n  miil tune-thresholds -m out -d val.csv --objective precision --target-precision 0.95 -o precise.onnx");
        command.Add(Model);
        Data.AddTo(command);
        foreach (Option option in new Option[] { Objective, TargetPrecision, Global, Output })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            var ml = new MLContext(seed: 0);
            string path = TrainedModel.Path(parsed.GetValue(Model)!);
            string output = Path.GetFullPath(parsed.GetValue(Output)!);
            if (string.Equals(output, path, StringComparison.Ordinal))
            {
                throw new CliException("-o must name a new file: the input model is left as it is.");
            }
            bool zip = output.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
            if (!zip && !output.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliException($"-o '{output}' must end in .zip or .onnx.");
            }
            var options = new ThresholdOptions
            {
                Selection = parsed.GetValue(Global) ? ThresholdSelection.TunedGlobal : ThresholdSelection.TunedPerClass,
                Objective = parsed.GetValue(Objective) switch
                {
                    "f1" => ThresholdObjective.MaximizeF1,
                    "precision" => ThresholdObjective.TargetPrecision,
                    string other => throw new CliException($"--objective takes f1 or precision, not '{other}'."),
                    null => ThresholdObjective.MaximizeF1,
                },
                TargetPrecision = parsed.GetValue(TargetPrecision),
            };
            TunedThresholds tuned;
            using (ImageScoringTransformer model = TrainedModel.Load(ml, path))
            {
                DatasetReader.Loaded data = DatasetReader.Read(ml, parsed, Data.Dataset, model.Model.ClassNames);
                terminal.Info($"Scoring {data.Rows} images of '{data.Path}' ...");
                tuned = ml.MultiLabel().TuneThresholds(model.Transform(data.Data), options: options);
            }
            byte[] onnx = OnnxModelContract.WithThresholds(Miil.ML.Onnx.Scoring.ModelZipLoader.OnnxOf(path), tuned.Thresholds);
            if (zip)
            {
                using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = DefaultColumnNames.ImagePath }).Fit(TrainedModel.Images(ml, []));
                TrainOutputs.SaveZip(ml, scorer, TrainedModel.Images(ml, []).Schema, output);
            }
            else
            {
                Miil.ML.IO.AtomicFile.Write(output, s => s.Write(onnx));
            }
            terminal.Table("Thresholds", ["Class", "Threshold"], tuned.ClassNames.Select((c, i) => (IReadOnlyList<string>)[c, $"{tuned.Thresholds[i]:F3}"]));
            if (tuned.TargetNotReached.Count > 0)
            {
                terminal.Warning($"precision {options.TargetPrecision} not reached for: {string.Join(", ", tuned.TargetNotReached)}.");
            }
            terminal.Result($"Wrote '{output}' (CF1 {100 * tuned.Metrics.AtThreshold.CF1:F2}%, OF1 {100 * tuned.Metrics.AtThreshold.OF1:F2}% on the tuning set).");
            terminal.WriteJson(new { output, classes = tuned.ClassNames, thresholds = tuned.Thresholds, cf1 = tuned.Metrics.AtThreshold.CF1, of1 = tuned.Metrics.AtThreshold.OF1 });
            return ExitCodes.Success;
        }));
        return command;
    }
}
