using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// What every multi-label image trainer of this package does in Fit, whatever the network family:
/// read and check the data, train with the shared loop (<see cref="MultiLabelTrainerOptions"/>), export
/// the selected weights to ONNX and wrap them in the batched scorer. A family supplies its network and
/// its transformer type.
/// </summary>
/// <typeparam name="TTransformer">The fitted model's type.</typeparam>
public abstract class MultiLabelImageTrainer<TTransformer> : IEstimator<TTransformer>
    where TTransformer : class, ITransformer
{
    private readonly MLContext _context;
    private readonly MultiLabelTrainerOptions _options;

    private protected MultiLabelImageTrainer(MLContext context, MultiLabelTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        _options = options;
    }

    /// <inheritdoc />
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();  // again: the options object is mutable
        using TrainingData train = TrainingData.Read(input, _options, "training", null);
        if (!train.PositivesPerClass().Any(p => p > 0))
        {
            throw new ArgumentException($"The training labels ('{_options.LabelColumnName}') have no positive anywhere: there is nothing to learn.");
        }
        using TrainingData? validation = _options.ValidationSet is null ? null : TrainingData.Read(_options.ValidationSet, _options, "validation", train.ClassNames);
        // A run resumed without an explicit seed continues with its checkpoint's; otherwise one comes from the context.
        int seed = _options.Seed
            ?? (_options.CheckpointDirectory is string directory ? TrainingCheckpoint.SeedOf(Path.Combine(directory, TrainingCheckpoint.FileName)) : null)
            ?? ((IHostEnvironment)_context).Register("Miil.ML." + _options.TrainerName).Rand.Next();
        TrainingResult result;
        // Outside the loop's seeding lock: resolving starting weights may download them.
        Func<int, MultiLabelNetwork> createNetwork = PrepareNetwork();
        using (var loop = new TrainingLoop(_context, _options, seed, train.ClassCount, createNetwork))
        {
            result = loop.Run(train, validation);
        }
        try
        {
            _options.Progress?.Report(new TrainingProgress { Phase = TrainingPhase.Exporting, Epoch = result.History.Count, Epochs = _options.Epochs });
            byte[] onnx = OnnxExporter.Export(result.Network, new OnnxExportOptions
            {
                ImageSize = _options.ImageSize,
                ClassNames = result.ClassNames,
                Thresholds = result.Thresholds,
            });
            ImageScoringTransformer scorer = _context.MultiLabel().ScoreImages(onnx, new ImageScoringOptions
            {
                ImageColumnName = _options.ImageColumnName,
                ImageFolder = _options.ImageFolder,
                ScoreColumnName = _options.ScoreColumnName,
                PredictedLabelsColumnName = _options.PredictedLabelsColumnName,
                BatchSize = _options.BatchSize,
                SkipUnreadableImages = _options.SkipUnreadableImages,
            }).Fit(input);
            try
            {
                return CreateTransformer(new TrainedModel(scorer, onnx, result, _options.ImageSize, DescribeOptions(result).ToList()));
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
        SchemaShape.Column label = inputSchema.FirstOrDefault(c => c.Name == _options.LabelColumnName);
        if (label.Name is null || label.Kind != SchemaShape.Column.VectorKind.Vector || label.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException($"{_options.TrainerName} needs a label column '{_options.LabelColumnName}' that is a known-size vector of Single (MapLabels makes one).", nameof(inputSchema));
        }
        ImageColumns.IsPaths(inputSchema, _options.ImageColumnName, _options.TrainerName);
        // The columns the fitted transformer adds have the label column's shape and slot names: a stock chain states that.
        return _context.Transforms.CopyColumns(_options.ScoreColumnName, _options.LabelColumnName)
            .Append(_context.Transforms.Conversion.ConvertType(_options.PredictedLabelsColumnName, _options.LabelColumnName, DataKind.Boolean))
            .GetOutputSchema(inputSchema);
    }

    /// <summary>The family's network for <paramref name="classCount"/> classes, with its starting weights loaded.</summary>
    private protected abstract MultiLabelNetwork CreateNetwork(int classCount);

    /// <summary>
    /// Gets what building the network needs before training starts (a family resolves, and if need be
    /// downloads, its starting weights here) and returns how to build it for a class count.
    /// </summary>
    private protected virtual Func<int, MultiLabelNetwork> PrepareNetwork() => CreateNetwork;

    /// <summary>The options that shaped the run, as a report lists them (a family adds its own).</summary>
    private protected virtual IEnumerable<KeyValuePair<string, string>> DescribeOptions(TrainingResult result)
    {
        string F(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        yield return new("network", NetworkLine.Readable(result.Network.Family, result.Network.Describe()));
        yield return new("image size", _options.ImageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("epochs", $"{result.History.Count} of {_options.Epochs}" + (_options.EarlyStoppingPatience is int p ? $" (early stopping after {p} without gain)" : ""));
        yield return new("batch size", _options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("learning rate", $"{F(_options.LearningRate)} peak, OneCycle over {_options.EffectiveScheduleEpochs} epochs; weight decay {F(_options.WeightDecay)} ({_options.WeightDecayKind})");
        yield return new("loss", _options.TrainingLoss().Description);
        yield return new("EMA decay", _options.EmaDecay is double ema ? F(ema) : "off");
        yield return new("augmentation", _options.Augmentation.ToString());
        yield return new("precision", result.Precision.ToString());
        yield return new("thresholds", _options.Thresholds.Selection.ToString());
        if (_options.FineTuning != "none")
        {
            yield return new("fine-tuning", _options.FineTuning);
        }
    }

    /// <summary>The fitted model around a trained network (which it then owns).</summary>
    private protected abstract TTransformer CreateTransformer(TrainedModel model);
}

/// <summary>What Fit hands a family's transformer: the scorer, the ONNX bytes and the run.</summary>
internal sealed record TrainedModel(ImageScoringTransformer Scorer, byte[] Onnx, TrainingResult Result, int ImageSize, IReadOnlyList<KeyValuePair<string, string>> Options);
