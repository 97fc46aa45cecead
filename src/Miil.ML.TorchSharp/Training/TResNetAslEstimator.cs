using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Trains a TResNet with the Asymmetric Loss on an image column and a multi-label column (see
/// <see cref="TResNetAslOptions"/>), and returns a <see cref="TResNetAslTransformer"/> that scores
/// with the selected weights through ONNX Runtime.
/// </summary>
public sealed class TResNetAslEstimator : IEstimator<TResNetAslTransformer>
{
    private readonly MLContext _context;

    internal TResNetAslEstimator(MLContext context, TResNetAslOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        Options = options;
    }

    /// <summary>The options.</summary>
    public TResNetAslOptions Options { get; }

    /// <inheritdoc />
    public TResNetAslTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Options.Validate();  // again: the options object is mutable
        using TrainingData train = TrainingData.Read(input, Options, "training", null);
        if (!train.PositivesPerClass().Any(p => p > 0))
        {
            throw new ArgumentException($"The training labels ('{Options.LabelColumnName}') have no positive anywhere: there is nothing to learn.");
        }
        using TrainingData? validation = Options.ValidationSet is null ? null : TrainingData.Read(Options.ValidationSet, Options, "validation", train.ClassNames);
        // A run resumed without an explicit seed continues with its checkpoint's; otherwise one comes from the context.
        int seed = Options.Seed
            ?? (Options.CheckpointDirectory is string directory ? TrainingCheckpoint.SeedOf(Path.Combine(directory, TrainingCheckpoint.FileName)) : null)
            ?? ((IHostEnvironment)_context).Register("Miil.ML.TResNetAsl").Rand.Next();
        TrainingResult result = new TResNetAslTrainer(_context, Options, seed).Run(train, validation);
        try
        {
            Options.Progress?.Report(new TrainingProgress(TrainingPhase.Exporting, result.History.Count, Options.Epochs, 0, 0, 0, 0, 0, null, null, TimeSpan.Zero, null));
            byte[] onnx = TResNetOnnxExporter.Export(result.Network, new TResNetOnnxExportOptions
            {
                ImageSize = Options.ImageSize,
                ClassNames = result.ClassNames,
                Thresholds = result.Thresholds,
            });
            TResNetScoringTransformer scorer = new TResNetScoringEstimator(_context, onnx, "the trained TResNet", new TResNetScoringOptions
            {
                ImageColumnName = Options.ImageColumnName,
                ImageFolder = Options.ImageFolder,
                BatchSize = Options.BatchSize,
                SkipUnreadableImages = Options.SkipUnreadableImages,
            }).Fit(input);
            return new TResNetAslTransformer(scorer, onnx, result, Options);
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
            throw new ArgumentException($"TResNetAsl needs a label column '{Options.LabelColumnName}' that is a known-size vector of Single (MapLabels makes one).", nameof(inputSchema));
        }
        ImageColumns.IsPaths(inputSchema, Options.ImageColumnName, "TResNetAsl");
        // The columns the fitted transformer adds have the label column's shape and slot names: a stock chain states that.
        return _context.Transforms.CopyColumns("Score", Options.LabelColumnName)
            .Append(_context.Transforms.Conversion.ConvertType("PredictedLabels", Options.LabelColumnName, DataKind.Boolean))
            .GetOutputSchema(inputSchema);
    }
}
