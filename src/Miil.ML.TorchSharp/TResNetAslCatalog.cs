using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp;

/// <summary>The TorchSharp trainer of <c>mlContext.MultiLabel()</c>.</summary>
public static class TResNetAslCatalog
{
    /// <summary>
    /// Trains a TResNet with the Asymmetric Loss (the ASL paper's recipe by default) on an image column
    /// and a multi-label column; the fitted transformer scores with ONNX Runtime and adds <c>Score</c>
    /// and <c>PredictedLabels</c> with the class names as slot names.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="options">Columns, network, loss, schedule, augmentation, validation and checkpoints.</param>
    public static TResNetAslTrainer TResNetAsl(this MultiLabelCatalog catalog, TResNetAslOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TResNetAslTrainer(catalog.Context, options);
    }

    /// <summary>Trains with the flat parameters of ML.NET's catalogs; everything else at <see cref="TResNetAslOptions"/>' defaults.</summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="labelColumnName">Label column (known-size Single vector with slot names).</param>
    /// <param name="imageColumnName">Image-path (or image) column.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against.</param>
    /// <param name="epochs">Epochs.</param>
    /// <param name="batchSize">Images per step.</param>
    /// <param name="learningRate">Peak learning rate.</param>
    /// <param name="imageSize">Network input side.</param>
    /// <param name="validationSet">Validation rows for model selection, or null.</param>
    public static TResNetAslTrainer TResNetAsl(this MultiLabelCatalog catalog, string labelColumnName = DefaultColumnNames.Label, string imageColumnName = DefaultColumnNames.ImagePath,
        string? imageFolder = null, int epochs = 40, int batchSize = 64, float learningRate = 1e-4f, int imageSize = 224, Microsoft.ML.IDataView? validationSet = null)
        => catalog.TResNetAsl(new TResNetAslOptions
        {
            LabelColumnName = labelColumnName,
            ImageColumnName = imageColumnName,
            ImageFolder = imageFolder,
            Epochs = epochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
            ImageSize = imageSize,
            ValidationSet = validationSet,
        });
}
