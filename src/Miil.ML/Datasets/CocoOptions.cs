namespace Miil.ML.Datasets;

/// <summary>Options of <see cref="MultiLabelCatalog.LoadCoco"/>.</summary>
public sealed record CocoOptions
{
    /// <summary>Keep images without any annotation (all labels 0). Default false: the ASL reference trains and validates on annotated images only.</summary>
    public bool KeepImagesWithoutAnnotations { get; set; }

    /// <summary>
    /// Class names to use (so that every split shares one label space); each category's name must be
    /// among them. Null: the file's categories, in category-id order.
    /// </summary>
    public IReadOnlyList<string>? Classes { get; set; }

    /// <summary>Check that every image file exists. Default true.</summary>
    public bool CheckFilesExist { get; set; } = true;
}
