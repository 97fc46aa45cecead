namespace Miil.ML.Datasets;

/// <summary>Options of <see cref="MultiLabelCatalog.LoadManifest"/>.</summary>
public sealed record ManifestOptions
{
    /// <summary>Column separator; null: tab for <c>.tsv</c> files, comma otherwise.</summary>
    public char? Separator { get; set; }

    /// <summary>Separator between the labels of one image. Default ';'.</summary>
    public char LabelSeparator { get; set; } = ';';

    /// <summary>Whether the first line is a header. Default true.</summary>
    public bool HasHeader { get; set; } = true;

    /// <summary>Header name of the image-path column (case-insensitive); null (default): the first column.</summary>
    public string? ImagePathColumn { get; set; }

    /// <summary>Header name of the labels column (case-insensitive); null (default): the second column.</summary>
    public string? LabelsColumn { get; set; }

    /// <summary>Folder relative image paths are resolved against; null: the manifest's folder.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>Class names (every split shares them); a label outside them is an error naming the line. Null: the labels found, in ordinal order (as MapLabels learns them).</summary>
    public IReadOnlyList<string>? Classes { get; set; }

    /// <summary>Check that every image file exists. Default true.</summary>
    public bool CheckFilesExist { get; set; } = true;
}
