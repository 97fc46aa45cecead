using Miil.ML.Evaluation;

namespace Miil.ML.Reports;

/// <summary>
/// Everything a report shows: the metrics, and optionally how training went, a gallery of scored images
/// and the labels' statistics. <c>mlContext.MultiLabel().BuildReport(scored)</c> makes one from a scored
/// data view; <c>MultiLabelReport.SaveReport</c> writes it.
/// </summary>
public sealed record MultiLabelReportContent
{
    /// <summary>The page's title.</summary>
    public string Title { get; init; } = "Multi-label evaluation";

    /// <summary>The evaluation.</summary>
    public required MultiLabelMetrics Metrics { get; init; }

    /// <summary>The training run, when known.</summary>
    public TrainingHistory? Training { get; init; }

    /// <summary>Scored images with their labels, when the data view had an image column.</summary>
    public IReadOnlyList<GalleryImage> Gallery { get; init; } = [];

    /// <summary>Co-occurrence and cardinality of the true (and predicted) labels, when computed from the data.</summary>
    public LabelStatistics? Labels { get; init; }

    /// <summary>This content with a training section.</summary>
    /// <param name="training">The run's history and options.</param>
    public MultiLabelReportContent WithTraining(TrainingHistory training) => this with { Training = training };
}

/// <summary>A training run as the report shows it: per epoch, the selected epoch, and the options that mattered.</summary>
public sealed record TrainingHistory
{
    /// <summary>Every epoch, in order (epochs before a resume included).</summary>
    public required IReadOnlyList<EpochSummary> Epochs { get; init; }

    /// <summary>The epoch (1-based) whose weights were selected.</summary>
    public int SelectedEpoch { get; init; }

    /// <summary>Which weights were selected.</summary>
    public SelectedWeights SelectedWeights { get; init; }

    /// <summary>Options of the run, as name and value (architecture, image size, epochs, loss, precision, ...).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Options { get; init; } = [];
}

/// <summary>One epoch of a run.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Loss">Mean training loss per image.</param>
/// <param name="ValidationMap">The raw weights' validation mAP (fraction), or null without a validation set.</param>
/// <param name="EmaValidationMap">The EMA weights' validation mAP, or null without an EMA or a validation set.</param>
/// <param name="ImagesPerSecond">Training throughput (decoding included).</param>
/// <param name="SkippedImages">Unreadable images skipped in the epoch (when the trainer skips them).</param>
/// <param name="LearningRate">The learning rate of the epoch's last step (null where it was not recorded).</param>
public sealed record EpochSummary(int Epoch, double Loss, double? ValidationMap, double? EmaValidationMap, double ImagesPerSecond, int SkippedImages = 0, double? LearningRate = null);

/// <summary>Which weights a run selected.</summary>
public enum SelectedWeights
{
    /// <summary>The optimised model's own weights.</summary>
    Raw,

    /// <summary>The exponential moving average of the weights.</summary>
    Ema,
}

/// <summary>Why an image is in the gallery.</summary>
public enum GallerySection
{
    /// <summary>A sample of the data, evenly spread over it.</summary>
    Sample,

    /// <summary>Among the largest per-image errors (the sum over classes of |label - score|).</summary>
    WorstImage,

    /// <summary>A false positive of one of the classes with the lowest AP (the class is <see cref="GalleryImage.Class"/>).</summary>
    ClassFalsePositive,
}

/// <summary>One scored image of the gallery.</summary>
public sealed record GalleryImage
{
    /// <summary>Why it is shown.</summary>
    public required GallerySection Section { get; init; }

    /// <summary>For <see cref="GallerySection.ClassFalsePositive"/>: the class it is a false positive of.</summary>
    public string? Class { get; init; }

    /// <summary>The row of the data view (0-based).</summary>
    public required long Row { get; init; }

    /// <summary>Its path, when the data held paths.</summary>
    public string? Path { get; init; }

    /// <summary>The thumbnail as a JPEG, or null when it could not be made (or the size budget was spent). Not written to JSON.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public byte[]? Thumbnail { get; init; }

    /// <summary>The true labels.</summary>
    public required IReadOnlyList<string> TrueLabels { get; init; }

    /// <summary>Classes predicted or true, with score and outcome, highest score first.</summary>
    public required IReadOnlyList<GalleryLabel> Labels { get; init; }

    /// <summary>The per-image error the worst-images section sorts by: the sum over classes of |label - score|.</summary>
    public required double Error { get; init; }
}

/// <summary>What a class is for an image: a true positive, a false positive, or a missed (false negative) label.</summary>
public enum LabelOutcome
{
    /// <summary>True and predicted.</summary>
    TruePositive,

    /// <summary>Predicted but not true.</summary>
    FalsePositive,

    /// <summary>True but not predicted.</summary>
    Missed,
}

/// <summary>A class of a gallery image with its score and outcome.</summary>
/// <param name="Name">The class.</param>
/// <param name="Score">Its score.</param>
/// <param name="Outcome">True positive, false positive, or missed.</param>
public sealed record GalleryLabel(string Name, float Score, LabelOutcome Outcome);

/// <summary>How the labels are distributed: per-class counts, co-occurrence, and how many labels images carry.</summary>
public sealed record LabelStatistics
{
    /// <summary>Class names, in slot order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Co-occurrence counts of the true labels: [i][j] images with both i and j; the diagonal is each class's count.</summary>
    public required long[][] CoOccurrence { get; init; }

    /// <summary>Images by number of true labels: [k] images with k labels.</summary>
    public required long[] TrueCardinality { get; init; }

    /// <summary>Images by number of predicted labels.</summary>
    public required long[] PredictedCardinality { get; init; }
}
