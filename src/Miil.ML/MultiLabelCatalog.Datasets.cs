using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;

namespace Miil.ML;

public sealed partial class MultiLabelCatalog
{
    /// <summary>
    /// Loads a COCO instances file (<c>instances_train2017.json</c> style) as <c>ImagePath</c> (full
    /// paths) and <c>Label</c> (one slot per category in category-id order, named by the category;
    /// 1 where the image has an annotation of it). The file is streamed, so a 450 MB file loads in
    /// little memory beyond the labels.
    /// </summary>
    /// <param name="annotationsPath">The instances JSON file.</param>
    /// <param name="imageFolder">Folder the images' <c>file_name</c> is relative to (e.g. <c>train2017</c>).</param>
    /// <param name="options">Images without annotations, a shared class list, file checks.</param>
    /// <exception cref="FileNotFoundException">The JSON file or an image is missing (the image id is named).</exception>
    /// <exception cref="InvalidDataException">Malformed JSON (line named), an unknown category id, or an annotation of an absent image (annotation id named).</exception>
    public IDataView LoadCoco(string annotationsPath, string imageFolder, CocoOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(annotationsPath);
        ArgumentException.ThrowIfNullOrEmpty(imageFolder);
        return CocoReader.Read(annotationsPath, imageFolder, options ?? new CocoOptions()).ToDataView(Context);
    }

    /// <summary>
    /// Loads a Pascal VOC split: the ids in <c>ImageSets/Main/&lt;imageSet&gt;.txt</c>, their
    /// <c>Annotations/*.xml</c>, images in <c>JPEGImages/</c>. A class present only through objects
    /// marked difficult is -1 (ignored) unless <see cref="VocOptions.CountDifficult"/>.
    /// </summary>
    /// <param name="root">The VOC folder (e.g. <c>VOCdevkit/VOC2007</c>).</param>
    /// <param name="imageSet">The split: train, val, trainval or test.</param>
    /// <param name="options">Difficult objects, a shared class list, file checks.</param>
    public IDataView LoadVoc(string root, string imageSet = "trainval", VocOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentException.ThrowIfNullOrEmpty(imageSet);
        return VocReader.Read(root, imageSet, options ?? new VocOptions()).ToDataView(Context);
    }

    /// <summary>
    /// Loads a CSV or TSV manifest of <c>path,labels</c> lines (labels separated by ';' by default;
    /// quoted fields allowed) as <c>ImagePath</c> (full paths) and <c>Label</c> with slot names.
    /// </summary>
    /// <param name="path">The manifest.</param>
    /// <param name="options">Separators, header, image folder, a shared class list, file checks.</param>
    public IDataView LoadManifest(string path, ManifestOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ManifestReader.Read(path, options ?? new ManifestOptions()).ToDataView(Context);
    }

    /// <summary>
    /// Loads the folder convention <c>root/&lt;class&gt;/&lt;image&gt;</c>: each subfolder is a
    /// class; a file name found in several class folders is one image with all their labels.
    /// </summary>
    /// <param name="root">The folder of class folders.</param>
    /// <param name="classes">Class names to use (folders outside them are an error); null: the subfolders, in ordinal order.</param>
    public IDataView LoadImageFolders(string root, IReadOnlyList<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        return ImageFoldersReader.Read(root, classes).ToDataView(Context);
    }

    /// <summary>
    /// The class names of a label (or score) column: its slot names, in slot order. Pass them as
    /// the class list of another split's reader so that every split shares one label space.
    /// </summary>
    /// <param name="data">The data.</param>
    /// <param name="columnName">A known-size vector column with slot names. Default "Label".</param>
    /// <exception cref="ArgumentException">No such column, or it has no slot names.</exception>
    public IReadOnlyList<string> GetClassNames(IDataView data, string columnName = DefaultColumnNames.Label)
    {
        ArgumentNullException.ThrowIfNull(data);
        DataViewSchema.Column column = data.Schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentException($"The data has no column '{columnName}' (columns: {string.Join(", ", data.Schema.Select(c => c.Name))}).", nameof(columnName));
        return column.Type is VectorDataViewType { Size: > 0 } && SlotNames.Of(column) is { } names
            ? names
            : throw new ArgumentException($"Column '{columnName}' is not a known-size vector with slot names (class names).", nameof(columnName));
    }
}
