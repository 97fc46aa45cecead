using System.CommandLine;
using Microsoft.ML;
using Miil.ML.Datasets;

namespace Miil.ML.Cli.Data;

/// <summary>
/// Reads the dataset a command names into the data contract (<c>ImagePath</c> full paths, <c>Label</c> with
/// the class names as slot names), telling the format from the path unless <c>--format</c> says it.
/// </summary>
internal static class DatasetReader
{
    /// <summary>What was read, and how.</summary>
    internal sealed record Loaded(IDataView Data, DatasetFormat Format, string Path, IReadOnlyList<string> ClassNames, long Rows);

    public static Loaded Read(MLContext ml, ParseResult parsed, Option<string> dataset, IReadOnlyList<string>? classes = null)
    {
        string path = parsed.GetValue(dataset) ?? throw new CliException($"{dataset.Name} is required.");
        return Read(ml, path, dataset.Name, parsed.GetValue(DatasetOptions.Format), new Settings(
            parsed.GetValue(DatasetOptions.LabelColumn), parsed.GetValue(DatasetOptions.ImageColumn), parsed.GetValue(DatasetOptions.LabelSeparator),
            parsed.GetValue(DatasetOptions.ImageFolder), parsed.GetValue(DatasetOptions.VocSplit) ?? "trainval"), classes);
    }

    /// <summary>The format options, as the settings file keeps them.</summary>
    internal sealed record Settings(string? LabelColumn, string? ImageColumn, char LabelSeparator, string? ImageFolder, string VocSplit);

    public static Loaded Read(MLContext ml, string path, string optionName, DatasetFormat format, Settings settings, IReadOnlyList<string>? classes = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            throw new CliException($"{optionName} '{path}' does not exist.", ExitCodes.Input);
        }
        DatasetFormat chosen = format == DatasetFormat.Auto ? Detect(full, optionName) : format;
        IDataView data = chosen switch
        {
            DatasetFormat.Manifest => ml.MultiLabel().LoadManifest(RequireFile(full, optionName, chosen), new ManifestOptions
            {
                LabelsColumn = settings.LabelColumn,
                ImagePathColumn = settings.ImageColumn,
                LabelSeparator = settings.LabelSeparator,
                ImageFolder = settings.ImageFolder is null ? null : System.IO.Path.GetFullPath(settings.ImageFolder),
                Classes = classes,
            }),
            DatasetFormat.Coco => ml.MultiLabel().LoadCoco(RequireFile(full, optionName, chosen),
                System.IO.Path.GetFullPath(settings.ImageFolder ?? System.IO.Path.GetDirectoryName(full)!), new CocoOptions { Classes = classes }),
            DatasetFormat.Voc => ml.MultiLabel().LoadVoc(RequireFolder(full, optionName, chosen), settings.VocSplit, new VocOptions { Classes = classes }),
            DatasetFormat.Folders => ml.MultiLabel().LoadImageFolders(RequireFolder(full, optionName, chosen), classes),
            _ => throw new CliException($"--format {format} is not a dataset format."),
        };
        IReadOnlyList<string> names = ml.MultiLabel().GetClassNames(data);
        long rows = Rows(data);
        if (rows == 0)
        {
            throw new CliException($"{optionName} '{path}' holds no image.", ExitCodes.Input);
        }
        return new Loaded(data, chosen, full, names, rows);
    }

    /// <summary>The rows of a view: its count when it knows it, else a pass of a cursor with no column read (a split's view).</summary>
    public static long Rows(IDataView data)
    {
        if (data.GetRowCount() is long known)
        {
            return known;
        }
        long rows = 0;
        using DataViewRowCursor cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            rows++;
        }
        return rows;
    }

    /// <summary>The format of <paramref name="path"/>: COCO for .json, a manifest for another file, VOC for a folder with Annotations and ImageSets, class folders otherwise.</summary>
    public static DatasetFormat Detect(string path, string optionName)
    {
        if (File.Exists(path))
        {
            return System.IO.Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? DatasetFormat.Coco : DatasetFormat.Manifest;
        }
        if (Directory.Exists(System.IO.Path.Combine(path, "Annotations")) && Directory.Exists(System.IO.Path.Combine(path, "ImageSets")))
        {
            return DatasetFormat.Voc;
        }
        if (Directory.EnumerateDirectories(path).Any())
        {
            return DatasetFormat.Folders;
        }
        throw new CliException($"{optionName} '{path}' is a folder with neither class folders nor VOC's Annotations and ImageSets; "
            + "give a manifest (CSV/TSV), a COCO JSON file, a VOC folder or a folder of class folders, or say which with --format.", ExitCodes.Input);
    }

    private static string RequireFile(string path, string optionName, DatasetFormat format)
        => File.Exists(path) ? path : throw new CliException($"{optionName} '{path}' is a folder, but --format {format.ToString().ToLowerInvariant()} reads a file.", ExitCodes.Input);

    private static string RequireFolder(string path, string optionName, DatasetFormat format)
        => Directory.Exists(path) ? path : throw new CliException($"{optionName} '{path}' is a file, but --format {format.ToString().ToLowerInvariant()} reads a folder.", ExitCodes.Input);
}
