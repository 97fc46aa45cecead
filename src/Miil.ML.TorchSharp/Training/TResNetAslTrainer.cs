using Miil.ML.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Trains a TResNet with the Asymmetric Loss on an image column and a multi-label column (see
/// <see cref="TResNetAslOptions"/>), and returns a <see cref="TResNetAslTransformer"/> that scores with
/// the selected weights through ONNX Runtime. Fit reads and checks the data, resolves the starting
/// weights (downloading them if need be), trains with the shared loop, exports the selected weights to
/// ONNX and wraps them in the batched scorer. Created by <c>mlContext.MultiLabel().TResNetAsl(...)</c>.
/// </summary>
public sealed class TResNetAslTrainer : IEstimator<TResNetAslTransformer>
{
    private readonly MLContext _context;

    internal TResNetAslTrainer(MLContext context, TResNetAslOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        NetworkRecipe.Resolve(context, options);  // architecture and image size, before Fit
        _context = context;
        Options = options;
    }

    /// <summary>The options (checked again when Fit starts: the object is mutable).</summary>
    public TResNetAslOptions Options { get; }

    /// <inheritdoc />
    public TResNetAslTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        TResNetAslOptions options = Options;
        options.Validate();
        // The network before the data: a wrong architecture or image size fails before anything is read or downloaded.
        NetworkRecipe recipe = NetworkRecipe.Resolve(_context, options);
        using TrainingData train = TrainingData.Read(input, options, "training", null);
        if (!train.PositivesPerClass().Any(p => p > 0))
        {
            throw new ArgumentException($"The training labels ('{options.LabelColumnName}') have no positive anywhere: there is nothing to learn.");
        }
        using TrainingData? validation = options.ValidationSet is null ? null : TrainingData.Read(options.ValidationSet, options, "validation", train.ClassNames);
        // A run resumed without an explicit seed continues with its checkpoint's; otherwise one comes from the context.
        int seed = options.Seed
            ?? (options.CheckpointDirectory is string directory ? TrainingCheckpoint.SeedOf(Path.Combine(directory, TrainingCheckpoint.FileName)) : null)
            ?? ((IHostEnvironment)_context).Register("Miil.ML." + options.TrainerName).Rand.Next();
        // Outside the loop's seeding lock: resolving starting weights may download them.
        string? weights = recipe.ResolveWeights();
        TrainingResult result;
        using (var loop = new TrainingLoop(_context, options, seed, train.ClassCount, classCount => recipe.Create(classCount, weights)))
        {
            result = loop.Run(train, validation);
        }
        try
        {
            options.Progress?.Report(new TrainingProgress { Phase = TrainingPhase.Exporting, Epoch = result.History.Count, Epochs = options.Epochs });
            byte[] onnx = OnnxExporter.Export(result.Network, new OnnxExportOptions
            {
                ImageSize = options.ImageSize,
                ClassNames = result.ClassNames,
                Thresholds = result.Thresholds,
            });
            ImageScoringTransformer scorer = _context.MultiLabel().ScoreImages(onnx, new ImageScoringOptions
            {
                ImageColumnName = options.ImageColumnName,
                ImageFolder = options.ImageFolder,
                ScoreColumnName = options.ScoreColumnName,
                PredictedLabelsColumnName = options.PredictedLabelsColumnName,
                BatchSize = options.BatchSize,
                SkipUnreadableImages = options.SkipUnreadableImages,
            }).Fit(input);
            try
            {
                return new TResNetAslTransformer(scorer, onnx, result, options.ImageSize, DescribeOptions(result).ToList());
            }
            catch
            {
                scorer.Dispose();
                throw;
            }
        }
        catch
        {
            result.Network.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaShape.Column label = inputSchema.FirstOrDefault(c => c.Name == Options.LabelColumnName);
        if (label.Name is null || label.Kind != SchemaShape.Column.VectorKind.Vector || label.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException($"{Options.TrainerName} needs a label column '{Options.LabelColumnName}' that is a known-size vector of Single (MapLabels makes one).", nameof(inputSchema));
        }
        ImageColumns.IsPaths(inputSchema, Options.ImageColumnName, Options.TrainerName);
        // The columns the fitted transformer adds have the label column's shape and slot names: a stock chain states that.
        return _context.Transforms.CopyColumns(Options.ScoreColumnName, Options.LabelColumnName)
            .Append(_context.Transforms.Conversion.ConvertType(Options.PredictedLabelsColumnName, Options.LabelColumnName, DataKind.Boolean))
            .GetOutputSchema(inputSchema);
    }

    /// <summary>The options that shaped the run, as a report lists them.</summary>
    private IEnumerable<KeyValuePair<string, string>> DescribeOptions(TrainingResult result)
    {
        string F(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        yield return new("network", NetworkLine.Readable(result.Network.Family, result.Network.Describe()));
        yield return new("image size", Options.ImageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("epochs", $"{result.History.Count} of {Options.Epochs}" + (Options.EarlyStoppingPatience is int p ? $" (early stopping after {p} without gain)" : ""));
        yield return new("batch size", Options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("learning rate", $"{F(Options.LearningRate)} peak, OneCycle over {Options.EffectiveScheduleEpochs} epochs; weight decay {F(Options.WeightDecay)} ({Options.WeightDecayKind})");
        yield return new("loss", Options.TrainingLoss().Description);
        yield return new("EMA decay", Options.EmaDecay is double ema ? F(ema) : "off");
        yield return new("augmentation", Options.Augmentation.ToString());
        yield return new("precision", result.Precision.ToString());
        yield return new("thresholds", Options.Thresholds.Selection.ToString());
        if (Options.FineTuning != "none")
        {
            yield return new("fine-tuning", Options.FineTuning);
        }
        yield return new("pretrained weights", Options.PretrainedWeights ?? "none (random initialisation)");
    }
}
