using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Onnx;

/// <summary>The ONNX-based operations of <c>mlContext.MultiLabel()</c>.</summary>
public static class MultiLabelCatalogExtensions
{
    /// <summary>
    /// Per-class thresholds over a score column, as a Boolean vector column (true where
    /// score &gt; threshold). The thresholds travel inside a saved model.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="thresholds">One threshold per class, in score-slot order.</param>
    /// <param name="scoreColumnName">Score column (known-size vector of Single). Default "Score".</param>
    /// <param name="predictedLabelsColumnName">Decision column to write. Default "PredictedLabels".</param>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, IReadOnlyList<float> thresholds,
        string scoreColumnName = "Score", string predictedLabelsColumnName = "PredictedLabels")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ApplyThresholdsEstimator(catalog.Context, thresholds, scoreColumnName, predictedLabelsColumnName);
    }

    /// <summary>
    /// Scores an image-path column with a TResNet exported by Miil.ML (ONNX), in batches, on GPU when
    /// asked and usable (CPU otherwise): appends <c>Score</c> and <c>PredictedLabels</c> with the class
    /// names as slot names. See <see cref="TResNetScoringTransformer"/>.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="modelPath">The exported .onnx file.</param>
    /// <param name="options">Columns, batch size and device; default: "ImagePath" to "Score"/"PredictedLabels", batches of 64, the context's GPU settings.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="modelPath"/>.</exception>
    /// <exception cref="InvalidOperationException">The file is not an ONNX model exported by Miil.ML.</exception>
    public static TResNetScoringEstimator ScoreTResNet(this MultiLabelCatalog catalog, string modelPath, TResNetScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"ONNX model '{modelPath}' does not exist.", modelPath);
        }
        return new TResNetScoringEstimator(catalog.Context, File.ReadAllBytes(modelPath), $"'{modelPath}'", options ?? new TResNetScoringOptions());
    }

    /// <summary>Scores with the flat parameters of ML.NET's catalogs (see the options overload).</summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="modelPath">The exported .onnx file.</param>
    /// <param name="imageColumnName">Column of image paths (text) or images.</param>
    /// <param name="scoreColumnName">Probability column written.</param>
    /// <param name="predictedLabelsColumnName">Decision column written.</param>
    /// <param name="batchSize">Rows per ONNX Runtime call.</param>
    /// <param name="gpuDeviceId">CUDA device; null for the context's setting.</param>
    /// <param name="fallbackToCpu">Whether an unusable GPU falls back to CPU with a warning.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against.</param>
    public static TResNetScoringEstimator ScoreTResNet(this MultiLabelCatalog catalog, string modelPath, string imageColumnName,
        string scoreColumnName = "Score", string predictedLabelsColumnName = "PredictedLabels", int batchSize = 64,
        int? gpuDeviceId = null, bool fallbackToCpu = true, string? imageFolder = null)
        => catalog.ScoreTResNet(modelPath, new TResNetScoringOptions
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
    public static TResNetScoringEstimator ScoreTResNet(this MultiLabelCatalog catalog, byte[] model, TResNetScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        return new TResNetScoringEstimator(catalog.Context, model, "the ONNX model", options ?? new TResNetScoringOptions());
    }

    /// <summary>
    /// Loads a model zip saved from a <see cref="TResNetScoringTransformer"/> back as the batched scorer,
    /// with class names (slot names) and thresholds from the embedded ONNX model. A plain
    /// <c>mlContext.Model.Load</c> of the same zip also works, but scores row by row and has no slot names.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="path">The model zip.</param>
    /// <param name="options">Columns, batch size and device (the image folder defaults to the saved one).</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidOperationException">The zip does not hold exactly one ONNX model exported by Miil.ML.</exception>
    public static TResNetScoringTransformer LoadModel(this MultiLabelCatalog catalog, string path, TResNetScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return TResNetModelLoader.Load(catalog.Context, path, options ?? new TResNetScoringOptions());
    }

    /// <summary>Applies thresholds chosen by <c>mlContext.MultiLabel().TuneThresholds(...)</c>.</summary>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, TunedThresholds tuned,
        string scoreColumnName = "Score", string predictedLabelsColumnName = "PredictedLabels")
    {
        ArgumentNullException.ThrowIfNull(tuned);
        return catalog.ApplyThresholds(tuned.Thresholds, scoreColumnName, predictedLabelsColumnName);
    }
}
