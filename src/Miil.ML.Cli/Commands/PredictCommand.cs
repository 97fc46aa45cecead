using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil predict</c>: images, folders or manifests through a trained model; labels with scores as a table, CSV or JSON.</summary>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

    private static readonly Option<string> Model = TrainedModel.Option();
    private static readonly Argument<string[]> Inputs = new("images")
    {
        Description = "Image files, folders (every image inside, recursively) or manifests (.csv/.tsv: their image column)",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<int?> TopK = new("--top-k", "-k") { Description = "Show the k highest-scoring classes of each image (default: the labels above their thresholds)" };
    private static readonly Option<float?> Threshold = new("--threshold") { Description = "One threshold for every class instead of the model's own" };
    private static readonly Option<string> Format = new("--format", "-f") { Description = "table, csv or json (--json is json)", DefaultValueFactory = _ => "table" };
    private static readonly Option<bool> SkipUnreadable = new("--skip-unreadable") { Description = "Report unreadable images as such and go on (default: stop at the first)" };

    public static Command Create()
    {
        var command = new Command("predict", "Predict the labels of images with a trained model.\n\n"
            + "Examples:\n  miil predict -m out/model.zip photo.jpg\n  miil predict -m out photos/ --top-k 3 --format csv > predictions.csv\n  miil predict -m out test.csv --json");
        command.Add(Model);
        command.Add(Inputs);
        foreach (Option option in new Option[] { TopK, Threshold, Format, SkipUnreadable })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            string format = terminal.Json ? "json" : parsed.GetValue(Format) ?? "table";
            if (format is not ("table" or "csv" or "json"))
            {
                throw new CliException($"--format takes table, csv or json, not '{format}'.");
            }
            if (parsed.GetValue(TopK) is < 1 || parsed.GetValue(Threshold) is <= 0 or >= 1)
            {
                throw new CliException("--top-k must be positive and --threshold between 0 and 1.");
            }
            var ml = new MLContext(seed: 0);
            List<string> images = Collect(ml, parsed.GetValue(Inputs)!);
            string path = TrainedModel.Path(parsed.GetValue(Model)!);
            bool skip = parsed.GetValue(SkipUnreadable);
            using ImageScoringTransformer model = TrainedModel.Load(ml, path, skipUnreadable: skip);
            IReadOnlyList<string> classes = model.Model.ClassNames;
            IDataView scored = model.Transform(TrainedModel.Images(ml, images));
            var rows = new List<Prediction>();
            foreach (Scored row in ml.Data.CreateEnumerable<Scored>(scored, reuseRowObject: false))
            {
                cancel.ThrowIfCancellationRequested();
                rows.Add(Predict(row, classes, parsed.GetValue(TopK), parsed.GetValue(Threshold)));
            }
            Write(format, rows, terminal);
            return rows.Any(r => r.Error is not null) ? ExitCodes.Input : ExitCodes.Success;
        }));
        return command;
    }

    internal sealed record LabelScore(string Label, float Score);

    internal sealed record Prediction(string Image, IReadOnlyList<LabelScore> Labels, string? Error);

    private sealed class Scored
    {
        public string ImagePath { get; set; } = "";
        public float[] Score { get; set; } = [];
        public bool[] PredictedLabels { get; set; } = [];
    }

    private static Prediction Predict(Scored row, IReadOnlyList<string> classes, int? topK, float? threshold)
    {
        if (row.Score.Length == 0 || row.Score.All(float.IsNaN))
        {
            return new Prediction(row.ImagePath, [], "unreadable image");
        }
        IEnumerable<int> chosen = topK is int k
            ? Enumerable.Range(0, classes.Count).OrderByDescending(i => row.Score[i]).Take(k)
            : Enumerable.Range(0, classes.Count).Where(i => threshold is float t ? row.Score[i] > t : row.PredictedLabels[i]).OrderByDescending(i => row.Score[i]);
        return new Prediction(row.ImagePath, chosen.Select(i => new LabelScore(classes[i], row.Score[i])).ToList(), null);
    }

    private static void Write(string format, List<Prediction> rows, Output.Terminal terminal)
    {
        switch (format)
        {
            case "json":
                Console.Out.WriteLine(Output.Terminal.ToJson(rows));
                break;
            case "csv":
                Console.Out.WriteLine("image,labels,scores,error");
                foreach (Prediction p in rows)
                {
                    Console.Out.WriteLine(string.Join(',', Csv(p.Image), Csv(string.Join(';', p.Labels.Select(l => l.Label))),
                        Csv(string.Join(';', p.Labels.Select(l => l.Score.ToString("F4", CultureInfo.InvariantCulture)))), Csv(p.Error ?? "")));
                }
                break;
            default:
                terminal.Table(null, ["Image", "Labels (score)"], rows.Select(p => (IReadOnlyList<string>)[p.Image,
                    p.Error ?? (p.Labels.Count == 0 ? "(none)" : string.Join(", ", p.Labels.Select(l => $"{l.Label} ({l.Score:F2})")))]));
                break;
        }
    }

    private static string Csv(string value)
        => value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>The image files the arguments name, in order: files as given, folders walked, manifests read.</summary>
    private static List<string> Collect(MLContext ml, string[] inputs)
    {
        var images = new List<string>();
        foreach (string input in inputs)
        {
            string full = Path.GetFullPath(input);
            if (Directory.Exists(full))
            {
                List<string> found = Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0)
                {
                    throw new CliException($"'{input}' holds no image ({string.Join(", ", ImageExtensions)}).", ExitCodes.Input);
                }
                images.AddRange(found);
            }
            else if (File.Exists(full) && Path.GetExtension(full).ToLowerInvariant() is ".csv" or ".tsv")
            {
                images.AddRange(ml.MultiLabel().LoadManifest(full).GetColumn<string>(DefaultColumnNames.ImagePath));
            }
            else if (File.Exists(full))
            {
                images.Add(full);
            }
            else
            {
                throw new CliException($"Image '{input}' does not exist.", ExitCodes.Input);
            }
        }
        return images;
    }
}
