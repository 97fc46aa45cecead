using System.CommandLine;
using Microsoft.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Cli.Commands;

/// <summary>The <c>--model</c> of the commands that use a trained model: model.zip, model.onnx, or a <c>miil train</c> output folder (its model.zip).</summary>
internal static class TrainedModel
{
    public static Option<string> Option(string description = "The trained model: model.zip, model.onnx, or the output folder of 'miil train'") => new("--model", "-m")
    {
        Description = description,
        Required = true,
    };

    /// <summary>The model file <paramref name="given"/> names.</summary>
    public static string Path(string given)
    {
        string full = System.IO.Path.GetFullPath(given);
        if (Directory.Exists(full))
        {
            foreach (string name in new[] { TrainOutputs.ModelZip, TrainOutputs.ModelOnnx })
            {
                string inside = System.IO.Path.Combine(full, name);
                if (File.Exists(inside))
                {
                    return inside;
                }
            }
            throw new CliException($"--model '{given}' is a folder without {TrainOutputs.ModelZip} or {TrainOutputs.ModelOnnx}.", ExitCodes.Input);
        }
        return File.Exists(full) ? full : throw new CliException($"--model '{given}' does not exist.", ExitCodes.Input);
    }

    /// <summary>The model as an ML.NET transformer reading <c>ImagePath</c>.</summary>
    public static ImageScoringTransformer Load(MLContext ml, string path, int batchSize = ImageScoringOptions.DefaultBatchSize, bool skipUnreadable = false)
    {
        var options = new ImageScoringOptions { ImageColumnName = DefaultColumnNames.ImagePath, BatchSize = batchSize, SkipUnreadableImages = skipUnreadable };
        return Miil.ML.Onnx.Scoring.ModelZipLoader.LooksLikeZip(path)
            ? ml.MultiLabel().LoadModel(path, options)
            : ml.MultiLabel().ScoreImages(path, options).Fit(Images(ml, []));
    }

    /// <summary>A view of image paths in the column a model reads (empty: the schema a scorer is fitted on and saved with).</summary>
    public static IDataView Images(MLContext ml, IEnumerable<string> paths)
        => ml.Data.LoadFromEnumerable(paths.Select(p => new ImageRow { ImagePath = p }));

    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }
}
