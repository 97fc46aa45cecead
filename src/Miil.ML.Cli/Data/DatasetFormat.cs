namespace Miil.ML.Cli.Data;

/// <summary>The labelled-image layouts <c>miil</c> reads.</summary>
internal enum DatasetFormat
{
    /// <summary>Decided from the path: a .json file is COCO, another file a manifest, a folder with Annotations and ImageSets VOC, another folder class folders.</summary>
    Auto,

    /// <summary>A CSV or TSV of image paths and labels.</summary>
    Manifest,

    /// <summary>A COCO instances JSON file.</summary>
    Coco,

    /// <summary>A Pascal VOC folder.</summary>
    Voc,

    /// <summary>One folder per class.</summary>
    Folders,
}
