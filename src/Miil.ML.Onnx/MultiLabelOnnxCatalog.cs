using Miil.ML.Evaluation;
using Miil.ML.Onnx.Diagnostics;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Onnx;

/// <summary>The ONNX-based operations of <c>mlContext.MultiLabel()</c>.</summary>
public static class MultiLabelOnnxCatalog
{
    /// <summary>
    /// Per-class thresholds over a score column, as a Boolean vector column (true where
    /// score &gt; threshold). The thresholds travel inside a saved model.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="thresholds">One threshold per class, in score-slot order.</param>
    /// <param name="predictedLabelsColumnName">Decision column to write. Default <see cref="DefaultColumnNames.PredictedLabels"/>.</param>
    /// <param name="scoreColumnName">Score column read (known-size vector of Single). Default <see cref="DefaultColumnNames.Score"/>.</param>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, IReadOnlyList<float> thresholds,
        string predictedLabelsColumnName = DefaultColumnNames.PredictedLabels, string scoreColumnName = DefaultColumnNames.Score)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ApplyThresholdsEstimator(catalog.Context, thresholds, predictedLabelsColumnName, scoreColumnName);
    }

    /// <summary>Applies thresholds chosen by <c>mlContext.MultiLabel().TuneThresholds(...)</c>.</summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="tuned">The tuned thresholds.</param>
    /// <param name="predictedLabelsColumnName">Decision column to write.</param>
    /// <param name="scoreColumnName">Score column read.</param>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, TunedThresholds tuned,
        string predictedLabelsColumnName = DefaultColumnNames.PredictedLabels, string scoreColumnName = DefaultColumnNames.Score)
    {
        ArgumentNullException.ThrowIfNull(tuned);
        return catalog.ApplyThresholds(tuned.Thresholds, predictedLabelsColumnName, scoreColumnName);
    }

    /// <summary>
    /// Scores an image-path (or image) column with a multi-label model exported by Miil.ML (ONNX, see
    /// <see cref="OnnxModelContract"/>), in batches, on GPU when asked and usable (CPU otherwise): appends
    /// <c>Score</c> and <c>PredictedLabels</c> with the class names as slot names, preprocessing images
    /// as the model's record says. See <see cref="ImageScoringTransformer"/>.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="modelPath">The exported .onnx file.</param>
    /// <param name="options">Columns, batch size and device; default: "ImagePath" to "Score"/"PredictedLabels", batches of 64, the context's GPU settings.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="modelPath"/>.</exception>
    /// <exception cref="InvalidOperationException">The file is not an ONNX model exported by Miil.ML.</exception>
    public static ImageScoringEstimator ScoreImages(this MultiLabelCatalog catalog, string modelPath, ImageScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"ONNX model '{modelPath}' does not exist.", modelPath);
        }
        return new ImageScoringEstimator(catalog.Context, File.ReadAllBytes(modelPath), $"'{modelPath}'", options ?? new ImageScoringOptions());
    }

    /// <summary>Scores with the flat parameters of ML.NET's catalogs (see the options overload).</summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="modelPath">The exported .onnx file.</param>
    /// <param name="imageColumnName">Column of image paths (text) or images.</param>
    /// <param name="scoreColumnName">Probability column written.</param>
    /// <param name="predictedLabelsColumnName">Decision column written.</param>
    /// <param name="batchSize">Rows per ONNX Runtime call.</param>
    /// <param name="gpuDeviceId">CUDA device; null for the context's setting.</param>
    /// <param name="fallbackToCpu">Whether an unusable GPU falls back to CPU with a warning; null for the context's setting (<c>MLContext.FallbackToCpu</c>).</param>
    /// <param name="imageFolder">Folder relative paths are resolved against.</param>
    public static ImageScoringEstimator ScoreImages(this MultiLabelCatalog catalog, string modelPath, string imageColumnName,
        string scoreColumnName = DefaultColumnNames.Score, string predictedLabelsColumnName = DefaultColumnNames.PredictedLabels, int batchSize = ImageScoringOptions.DefaultBatchSize,
        int? gpuDeviceId = null, bool? fallbackToCpu = null, string? imageFolder = null)
        => catalog.ScoreImages(modelPath, new ImageScoringOptions
        {
            ImageColumnName = imageColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelsColumnName = predictedLabelsColumnName,
            BatchSize = batchSize,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
            ImageFolder = imageFolder,
        });

    /// <summary>Scores with a model given as ONNX bytes (see the path overload).</summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="model">The ONNX model's bytes.</param>
    /// <param name="options">Columns, batch size and device.</param>
    public static ImageScoringEstimator ScoreImages(this MultiLabelCatalog catalog, byte[] model, ImageScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        return new ImageScoringEstimator(catalog.Context, model, "the ONNX model", options ?? new ImageScoringOptions());
    }

    /// <summary>
    /// Loads a model zip saved from an <see cref="ImageScoringTransformer"/> (or a trained model) back as
    /// the batched scorer, with class names (slot names), thresholds and preprocessing from the embedded
    /// ONNX model. A plain <c>mlContext.Model.Load</c> of the same zip also works, but scores row by row
    /// and has no slot names.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="path">The model zip.</param>
    /// <param name="options">Columns, batch size and device (the image folder defaults to the saved one).</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidOperationException">The file is not a model zip holding exactly one ONNX model exported by Miil.ML; the message names the file and what to do.</exception>
    public static ImageScoringTransformer LoadModel(this MultiLabelCatalog catalog, string path, ImageScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return ModelZipLoader.Load(catalog.Context, path, options ?? new ImageScoringOptions());
    }

    /// <summary>
    /// The GPU doctor: why scoring and training do or do not use the GPU here, each problem with its fix,
    /// and a tiny model scored on every usable provider against a float64 reference (docs/troubleshooting.md).
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="options">What to examine; default: the context's GPU device (or 0), parity on, libtorch when present.</param>
    /// <returns>The findings; <c>ToString()</c> is the readable report.</returns>
    public static DoctorReport Doctor(this MultiLabelCatalog catalog, DoctorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        options ??= new DoctorOptions { GpuDeviceId = catalog.Context.GpuDeviceId ?? 0 };
        return MultiLabelDoctor.Examine(options);
    }
}
