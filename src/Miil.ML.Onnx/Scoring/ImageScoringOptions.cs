namespace Miil.ML.Onnx.Scoring;

/// <summary>Options of <c>mlContext.MultiLabel().ScoreImages</c> and <c>LoadModel</c>.</summary>
public sealed record ImageScoringOptions
{
    /// <summary>Column of image paths (text) or images (<c>MLImage</c>). Default "ImagePath", the column the dataset readers and the trainer use.</summary>
    public string ImageColumnName { get; set; } = DefaultColumnNames.ImagePath;

    /// <summary>Folder relative paths are resolved against; null for paths as given.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>Probability column written. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;

    /// <summary>Decision column written. Default "PredictedLabels".</summary>
    public string PredictedLabelsColumnName { get; set; } = DefaultColumnNames.PredictedLabels;

    /// <summary>Rows scored per ONNX Runtime call. Default 64.</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>The default of <see cref="BatchSize"/>.</summary>
    public const int DefaultBatchSize = 64;

    /// <summary>
    /// Batches preprocessed and scored at once, side by side; ONNX Runtime then gets the cores divided
    /// by this many threads inside each run. Null (default) picks one per core for batches under 8 rows
    /// (small calls cost more to spread over threads than to run beside each other: measured 1.4x at
    /// batch 1 on a tiny model) and two for larger batches (one scoring while the next is decoded).
    /// </summary>
    public int? ParallelBatches { get; set; }

    /// <summary>CUDA device to run on; null (default) for <c>MLContext.GpuDeviceId</c>.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>Whether a GPU that cannot be used falls back to CPU with a warning; null (default) for <c>MLContext.FallbackToCpu</c>.</summary>
    public bool? FallbackToCpu { get; set; }

    /// <summary>
    /// Score unreadable images (missing, empty, damaged, too large) as missing values (NaN scores, no
    /// predicted label), each logged through <c>MLContext.Log</c> and counted, instead of failing.
    /// Default false: the first unreadable image stops scoring, named. The saved stock chain has no such
    /// option (ML.NET's image loader fails).
    /// </summary>
    public bool SkipUnreadableImages { get; set; }

    /// <summary>The batches in flight: <see cref="ParallelBatches"/>, or the default for the batch size on this machine's cores.</summary>
    internal int EffectiveParallelBatches => ParallelBatches ?? (BatchSize < 8 ? Math.Max(2, Environment.ProcessorCount) : 2);

    /// <summary>
    /// Batches one worker preprocesses and scores in turn before handing its rows over: at least 8 rows
    /// (batch 1 on a tiny model spent about a fifth of its time handing each image between threads).
    /// </summary>
    internal int BatchesPerTask => (RowsPerTask + BatchSize - 1) / BatchSize;

    private const int RowsPerTask = 8;

    /// <summary>ONNX Runtime's threads per run: the cores shared among the batches in flight.</summary>
    internal int IntraOpThreads => Math.Max(1, Environment.ProcessorCount / EffectiveParallelBatches);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(ImageColumnName);
        ArgumentException.ThrowIfNullOrEmpty(ScoreColumnName);
        ArgumentException.ThrowIfNullOrEmpty(PredictedLabelsColumnName);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1);
        if (ParallelBatches is int parallel)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1, nameof(ParallelBatches));
        }
        if (ScoreColumnName == PredictedLabelsColumnName)
        {
            throw new ArgumentException($"Score and predicted labels cannot share the column name '{ScoreColumnName}'.");
        }
    }
}
