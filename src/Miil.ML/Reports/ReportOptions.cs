namespace Miil.ML.Reports;

/// <summary>Options of <c>mlContext.MultiLabel().BuildReport(...)</c>: the title, the decisions, the images, and how large a gallery (the label and score columns are its parameters, as for <c>Evaluate</c>).</summary>
public sealed record ReportOptions
{
    /// <summary>The page's title.</summary>
    public string Title { get; set; } = "Multi-label evaluation";

    /// <summary>The decisions (Boolean vector); null or absent to threshold the scores at <see cref="Threshold"/>. Default "PredictedLabels".</summary>
    public string? PredictedLabelsColumnName { get; set; } = DefaultColumnNames.PredictedLabels;

    /// <summary>The threshold when there is no decision column. Default 0.5.</summary>
    public float Threshold { get; set; } = Evaluation.ThresholdOptions.DefaultThreshold;

    /// <summary>The image column (paths, or MLImage); absent or null for no gallery. Default "ImagePath".</summary>
    public string? ImageColumnName { get; set; } = DefaultColumnNames.ImagePath;

    /// <summary>Folder relative image paths start from; null for paths as given.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>Images of the sample section, spread evenly over the data. Default 12.</summary>
    public int SampleImages { get; set; } = 12;

    /// <summary>Images of the worst-images section. Default 8.</summary>
    public int WorstImages { get; set; } = 8;

    /// <summary>Classes with the lowest AP whose false positives are shown. Default 3.</summary>
    public int WorstClasses { get; set; } = 3;

    /// <summary>False positives shown per such class. Default 4.</summary>
    public int FalsePositivesPerClass { get; set; } = 4;

    /// <summary>Longest side of a thumbnail, in pixels. Default 112.</summary>
    public int ThumbnailSize { get; set; } = 112;

    /// <summary>
    /// Bytes of JPEG thumbnails at most, over the whole gallery (a page stays light enough to mail):
    /// images past it are listed without a picture. Default 2 MiB (thumbnails of 112 px take 3-6 kB).
    /// </summary>
    public long MaxGalleryBytes { get; set; } = 2 << 20;

    /// <summary>Classes at most in the co-occurrence view (the most frequent ones). Default 30.</summary>
    public int MaxCoOccurrenceClasses { get; set; } = 30;

    internal void Validate()
    {
        foreach ((int value, string name) in new[] { (SampleImages, nameof(SampleImages)), (WorstImages, nameof(WorstImages)), (WorstClasses, nameof(WorstClasses)), (FalsePositivesPerClass, nameof(FalsePositivesPerClass)) })
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, name);
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(ThumbnailSize, 16, nameof(ThumbnailSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxGalleryBytes, nameof(MaxGalleryBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCoOccurrenceClasses, 1, nameof(MaxCoOccurrenceClasses));
    }
}
