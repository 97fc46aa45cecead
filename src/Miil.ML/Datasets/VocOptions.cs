namespace Miil.ML.Datasets;

/// <summary>Options of <see cref="MultiLabelCatalog.LoadVoc"/>.</summary>
public sealed record VocOptions
{
    /// <summary>
    /// Count objects marked <c>difficult</c> as positives. Default false: a class present only
    /// through difficult objects is labelled -1 (ignored by the loss and the metrics), as the VOC
    /// evaluation protocol ignores them.
    /// </summary>
    public bool CountDifficult { get; set; }

    /// <summary>Class names (every split shares them); null: the 20 VOC classes when every name found is one of them, otherwise the names found, sorted.</summary>
    public IReadOnlyList<string>? Classes { get; set; }

    /// <summary>Check that every image file exists. Default true.</summary>
    public bool CheckFilesExist { get; set; } = true;

    /// <summary>The 20 Pascal VOC classes in their usual (alphabetical) order.</summary>
    public static IReadOnlyList<string> StandardClasses { get; } =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];
}
