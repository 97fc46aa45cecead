using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp;

/// <summary>What Miil.ML.TorchSharp adds to <c>mlContext.MultiLabel()</c>: the trainer, and published models as scorers.</summary>
public static class MultiLabelTorchSharpCatalog
{
    /// <summary>
    /// Trains a TResNet with the Asymmetric Loss (the ASL paper's recipe by default) on an image column
    /// and a multi-label column; the fitted transformer scores with ONNX Runtime and adds <c>Score</c>
    /// and <c>PredictedLabels</c> with the class names as slot names.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="options">Network and weights, columns, loss, schedule, augmentation, validation and checkpoints.</param>
    /// <exception cref="ArgumentException">An option is out of range or contradicts another (named).</exception>
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
    /// <param name="architecture">The network (TResNet or ResNet); null for the pretrained weights' architecture, or TResNet-M.</param>
    /// <param name="pretrainedWeights">Weights to start from (a published name, a hub repository, an address or a file); null for none.</param>
    /// <param name="epochs">Epochs.</param>
    /// <param name="batchSize">Images per step.</param>
    /// <param name="learningRate">Peak learning rate.</param>
    /// <param name="imageSize">Network input side.</param>
    /// <param name="validationSet">Validation rows for model selection, or null.</param>
    public static TResNetAslTrainer TResNetAsl(this MultiLabelCatalog catalog, string labelColumnName = DefaultColumnNames.Label, string imageColumnName = DefaultColumnNames.ImagePath,
        string? imageFolder = null, NetworkArchitecture? architecture = null, string? pretrainedWeights = null, int epochs = 40, int batchSize = 64, float learningRate = 1e-4f,
        int imageSize = NetworkDefaults.ImageSize, Microsoft.ML.IDataView? validationSet = null)
        => catalog.TResNetAsl(new TResNetAslOptions
        {
            LabelColumnName = labelColumnName,
            ImageColumnName = imageColumnName,
            ImageFolder = imageFolder,
            Architecture = architecture,
            PretrainedWeights = pretrainedWeights,
            Epochs = epochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
            ImageSize = imageSize,
            ValidationSet = validationSet,
        });

    /// <summary>
    /// Scores images with a published multi-label model (e.g. <c>MS_COCO_TRresNet_M_224_81.8</c>: COCO's
    /// 80 classes). Fit downloads it into the cache if need be, converts the checkpoint to ONNX with its
    /// class names and the authors' threshold, and scores like <c>ScoreImages</c>.
    /// <code>
    /// var coco = mlContext.MultiLabel().LoadPretrained("MS_COCO_TRresNet_M_224_81.8").Fit(images);   // downloads here
    /// IDataView labelled = coco.Transform(images);   // Score and PredictedLabels, slots named person, bicycle, ...
    /// </code>
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="name">A catalogue name (<see cref="PretrainedModels"/>), <c>hf-hub:org/name</c>, an address, or a checkpoint path.</param>
    /// <param name="options">Columns, batch size, device; null for the defaults (image paths in <c>ImagePath</c>).</param>
    /// <param name="threshold">The decision threshold of every class; null for the catalogue's (the authors' 0.7 for ASL's heads), or 0.5.</param>
    /// <param name="imageSize">The input side; null for the size the weights were trained at.</param>
    /// <param name="hub">Endpoint, cache, token, offline mode; null for the environment's.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <exception cref="ArgumentException">An ImageNet classifier (softmax, not multi-label) or a model this library cannot build: refused at once, before any download.</exception>
    /// <remarks>Fit throws <see cref="HubDownloadException"/> when the download fails.</remarks>
    public static ImageScoringEstimator LoadPretrained(this MultiLabelCatalog catalog, string name, ImageScoringOptions? options = null, float? threshold = null,
        int? imageSize = null, HubOptions? hub = null, IProgress<HubDownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(name);
        PretrainedModel? known = PretrainedModels.Find(name);
        if (known is { Unsupported: string why })
        {
            throw new ArgumentException($"'{known.Name}' cannot be built by this library: {why}", nameof(name));
        }
        if (known is { IsMultiLabel: false })
        {
            throw new ArgumentException(
                $"'{known.Name}' is a single-label classifier ({known.TrainedOn}; {known.ClassCount} classes), not a multi-label model: "
                + "fine-tune it on your labels with TResNetAslOptions.PretrainedWeights. Multi-label models: "
                + string.Join(", ", PretrainedModels.All.Where(m => m.IsMultiLabel).Select(m => m.Name)) + ".", nameof(name));
        }
        return new ImageScoringEstimator(catalog.Context, () => Convert(catalog, name, threshold, imageSize, hub, progress), $"'{name}'", options ?? new ImageScoringOptions());
    }

    /// <summary>The published model as ONNX of the contract: downloaded (if need be), loaded, exported.</summary>
    private static byte[] Convert(MultiLabelCatalog catalog, string name, float? threshold, int? imageSize, HubOptions? hub, IProgress<HubDownloadProgress>? progress)
    {
        string path;
        PretrainedModel? entry;
        using (var client = new HubClient(hub, catalog.Context))
        {
            (path, entry) = PretrainedWeightsSource.Resolve(name, client, progress);
        }
        NetworkFiles.Loaded loaded = NetworkFiles.LoadWithInfo(path);
        using (MultiLabelNetwork network = loaded.Network)
        {
            IReadOnlyList<string>? classes = loaded.ClassNames is { } stored && stored.Count == network.ClassCount ? stored
                : entry?.ClassNames is { } listed && listed.Count == network.ClassCount ? listed : null;
            if (classes is null)
            {
                ContextLog.Warning(catalog.Context, nameof(LoadPretrained), $"'{name}' carries no class names for its {network.ClassCount} outputs: they are named class_0, class_1, ...");
            }
            return OnnxExporter.Export(network, new OnnxExportOptions
            {
                ImageSize = imageSize ?? entry?.ImageSize ?? loaded.ImageSize ?? NetworkDefaults.ImageSize,
                ClassNames = classes,
                Threshold = threshold ?? entry?.Threshold ?? Evaluation.ThresholdOptions.DefaultThreshold,
            });
        }
    }
}
