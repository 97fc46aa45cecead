using Miil.ML.Hub;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.TorchSharp;

/// <summary>Published multi-label models as scorers of <c>mlContext.MultiLabel()</c>, without training.</summary>
public static class PretrainedCatalog
{
    /// <summary>
    /// Scores images with a published multi-label TResNet (e.g. <c>MS_COCO_TRresNet_M_224_81.8</c>: COCO's
    /// 80 classes), downloaded into the cache if need be: the checkpoint is converted to ONNX with its
    /// class names and the authors' threshold, and scored like <c>ScoreImages</c>.
    /// <code>
    /// var coco = mlContext.MultiLabel().LoadPretrained("MS_COCO_TRresNet_M_224_81.8").Fit(images);
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
    /// <exception cref="ArgumentException">An ImageNet classifier (softmax, not multi-label), an unknown name, or weights this library cannot build.</exception>
    /// <exception cref="HubDownloadException">The download failed.</exception>
    public static ImageScoringEstimator LoadPretrained(this MultiLabelCatalog catalog, string name, ImageScoringOptions? options = null, float? threshold = null,
        int? imageSize = null, HubOptions? hub = null, IProgress<HubDownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(name);
        PretrainedModel? entry = PretrainedModels.Find(name);
        if (entry is { IsMultiLabel: false, Unsupported: null })
        {
            throw new ArgumentException(
                $"'{entry.Name}' is an image classifier ({entry.TrainedOn}; a softmax head over {entry.NumClasses} classes, names not shipped), not a multi-label model: "
                + "fine-tune it on your labels with TResNetAslOptions.PretrainedWeights. Multi-label models: "
                + string.Join(", ", PretrainedModels.All.Where(m => m.IsMultiLabel).Select(m => m.Name)) + ".", nameof(name));
        }
        string path;
        using (var client = new HubClient(hub, catalog.Context))
        {
            (path, entry) = PretrainedWeightsSource.Resolve(name, client, progress);
        }
        (TResNet network, TResNetCheckpointInfo info) = TResNetCheckpoint.LoadModel(path);
        using (network)
        {
            IReadOnlyList<string>? classes = info.ClassNames is { } stored && stored.Count == network.NumClasses ? stored
                : entry?.ClassNames is { } listed && listed.Count == network.NumClasses ? listed : null;
            if (classes is null)
            {
                ContextLog.Warning(catalog.Context, nameof(LoadPretrained), $"'{name}' carries no class names for its {network.NumClasses} outputs: they are named class_0, class_1, ...");
            }
            int size = imageSize ?? entry?.ImageSize ?? info.ImageSize ?? 224;
            byte[] onnx = OnnxExporter.Export(network, new OnnxExportOptions
            {
                ImageSize = size,
                ClassNames = classes,
                Threshold = threshold ?? entry?.Threshold ?? 0.5f,
            });
            return catalog.ScoreImages(onnx, options);
        }
    }
}
