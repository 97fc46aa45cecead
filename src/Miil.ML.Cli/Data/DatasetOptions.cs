using System.CommandLine;

namespace Miil.ML.Cli.Data;

/// <summary>The options that name a labelled dataset, shared by train, evaluate and tune-thresholds (the <c>mlnet</c> names where it has them).</summary>
internal sealed class DatasetOptions
{
    public DatasetOptions(string name = "--dataset", string description = "The labelled images: a CSV/TSV manifest, a COCO JSON file, a VOC folder or a folder of class folders", bool required = true)
    {
        Dataset = new Option<string>(name, name == "--dataset" ? ["-d"] : [])
        {
            Description = description,
            Required = required,
        };
    }

    public Option<string> Dataset { get; }

    public static readonly Option<DatasetFormat> Format = new("--format")
    {
        Description = "How to read --dataset: auto, manifest, coco, voc or folders",
        DefaultValueFactory = _ => DatasetFormat.Auto,
    };

    public static readonly Option<string?> LabelColumn = new("--label-col")
    {
        Description = "Manifest: the header of the labels column (default: the second column)",
    };

    public static readonly Option<string?> ImageColumn = new("--image-col")
    {
        Description = "Manifest: the header of the image-path column (default: the first column)",
    };

    public static readonly Option<char> LabelSeparator = new("--label-separator")
    {
        Description = "Manifest: the separator between one image's labels",
        DefaultValueFactory = _ => ';',
        CustomParser = r =>
        {
            string value = r.Tokens.Count == 0 ? ";" : r.Tokens[0].Value;
            if (value.Length != 1)
            {
                r.AddError($"--label-separator takes one character, not '{value}'.");
                return ';';
            }
            return value[0];
        },
    };

    public static readonly Option<string?> ImageFolder = new("--image-folder")
    {
        Description = "Where relative image paths point (manifest: default its folder; COCO: default the JSON file's folder)",
    };

    public static readonly Option<string> VocSplit = new("--voc-split")
    {
        Description = "VOC: the image set to read (train, val, trainval, test)",
        DefaultValueFactory = _ => "trainval",
    };

    /// <summary>Adds the dataset option (and, once per command, the format options) to <paramref name="command"/>.</summary>
    public void AddTo(Command command, bool withFormatOptions = true)
    {
        command.Add(Dataset);
        if (withFormatOptions)
        {
            command.Add(Format);
            command.Add(LabelColumn);
            command.Add(ImageColumn);
            command.Add(LabelSeparator);
            command.Add(ImageFolder);
            command.Add(VocSplit);
        }
    }
}
