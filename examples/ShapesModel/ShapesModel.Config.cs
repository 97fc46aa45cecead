using System.Text.Json;
using System.Text.Json.Serialization;

namespace ShapesModel_App;

/// <summary>The training configuration (<c>ShapesModel.mbconfig</c>), in the spirit of Model Builder's .mbconfig.</summary>
public sealed record ShapesModelConfig
{
    /// <summary>Always "MultiLabelImageClassification".</summary>
    public string Scenario { get; init; } = "MultiLabelImageClassification";

    /// <summary>Where the data comes from.</summary>
    public DataSourceConfig DataSource { get; init; } = new();

    /// <summary>Fraction of the data held out for validation (model selection and threshold tuning).</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>The trainer's settings.</summary>
    public TrainingConfig TrainingOption { get; init; } = new();

    /// <summary>The model zip written by training and read by consumption (relative to the config's folder).</summary>
    public string ModelPath { get; init; } = "ShapesModel.zip";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads a config file, naming it in errors.</summary>
    public static ShapesModelConfig Load(string path)
    {
        try
        {
            ShapesModelConfig config = JsonSerializer.Deserialize<ShapesModelConfig>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException("the file is empty");
            return config.Scenario == "MultiLabelImageClassification"
                ? config
                : throw new InvalidDataException($"scenario '{config.Scenario}' is not MultiLabelImageClassification");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"Training config '{path}' cannot be used: {e.Message}", e);
        }
    }
}

/// <summary>The data source: the built-in synthetic shapes, a CSV/TSV manifest, COCO, VOC or class folders.</summary>
public sealed record DataSourceConfig
{
    /// <summary>BuiltIn, Manifest, Coco, Voc or Folders.</summary>
    public DataSourceType Type { get; init; } = DataSourceType.BuiltIn;

    /// <summary>Manifest file, COCO instances JSON, VOC root or the folder of class folders.</summary>
    public string? Path { get; init; }

    /// <summary>COCO: the image folder; Manifest: folder relative paths are resolved against.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>VOC: the split (default trainval).</summary>
    public string? ImageSet { get; init; }

    /// <summary>BuiltIn: how many images to generate.</summary>
    public int BuiltInImages { get; init; } = 1200;
}

/// <summary>Kinds of data source.</summary>
public enum DataSourceType
{
    /// <summary>The built-in synthetic shapes, generated next to the config.</summary>
    BuiltIn,

    /// <summary>A CSV/TSV manifest of image paths and labels.</summary>
    Manifest,

    /// <summary>A COCO instances JSON file plus its image folder.</summary>
    Coco,

    /// <summary>A Pascal VOC folder.</summary>
    Voc,

    /// <summary>Class folders of images.</summary>
    Folders,
}

/// <summary>Trainer settings (see TResNetAslOptions for each one's meaning).</summary>
public sealed record TrainingConfig
{
    public string Architecture { get; init; } = "M";
    public int[]? Layers { get; init; }
    public double WidthFactor { get; init; } = 1;
    public string? PretrainedWeights { get; init; }
    public int ImageSize { get; init; } = 224;
    public int Epochs { get; init; } = 40;
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 1e-4f;
    public double? EmaDecay { get; init; } = 0.9997;
    public double HorizontalFlipProbability { get; init; }
    public double CutoutFactor { get; init; } = 0.5;
    public int RandAugmentOperations { get; init; } = 2;
    public string ThresholdSelection { get; init; } = "Fixed";
    public int Seed { get; init; }
}
