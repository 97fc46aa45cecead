using System.Globalization;
using Miil.ML.TorchSharp.Training;

namespace FineTune;

/// <summary>Command-line options of FineTune.</summary>
internal sealed record FineTuneOptions
{
    public string Weights { get; init; } = "tresnet_m.miil_in21k";
    public string? Architecture { get; init; }
    public string? Manifest { get; init; }
    public string? Folder { get; init; }
    public string? ImageFolder { get; init; }
    public double ValidationFraction { get; init; } = 0.1;
    public double TestFraction { get; init; } = 0.1;
    public int Epochs { get; init; } = 10;
    public int? ImageSize { get; init; }
    public int BatchSize { get; init; } = 16;
    public float LearningRate { get; init; } = 1e-4f;
    public int FreezeEpochs { get; init; } = 1;
    public double BodyLearningRateFactor { get; init; } = 1.0;
    public TrainingPrecision Precision { get; init; }
    public string Output { get; init; } = Path.Combine(Directory.GetCurrentDirectory(), "finetune-output");
    public string? CheckpointDirectory { get; init; }
    public bool Offline { get; init; }
    public Miil.ML.TorchSharp.Models.ClassifierHead? Head { get; init; }
    public int Seed { get; init; }
    public bool Plain { get; init; } = Console.IsOutputRedirected;

    public const string Usage = """
        FineTune: fine-tunes a published (or local) pretrained TResNet with ASL on your labelled images,
        evaluates it on a held-out split, and writes report.html, model.onnx and model.zip.

        Data (one of):
          --manifest FILE      CSV or TSV: an image path column and a labels column (labels split by ';')
          --folder DIR         one sub-folder per class; an image in several folders has several labels
          --image-folder DIR   folder the manifest's relative paths start from [the manifest's folder]

        Model (defaults in brackets):
          --weights NAME|PATH  catalogue name (tresnet_m.miil_in21k, tresnet_l.miil_in1k, ...), hf-hub:org/name,
                               an address, or a .pth/.safetensors file [tresnet_m.miil_in21k]
          --architecture A     M, L or XL [the catalogue entry's, else M]
          --image-size N       input side [the weights' size, else 224]
          --epochs N           epochs [10]
          --batch-size N       images per step [16]
          --learning-rate X    peak OneCycle learning rate [0.0001, the ASL paper's]
          --freeze-epochs N    epochs that train the new head alone, body frozen [1]
          --body-lr-factor X   the body's learning rate relative to the head's [1]
          --precision P        float32 or bfloat16 [float32]
          --head H             pooling or ml-decoder (ML-Decoder: 100 groups, 768 wide; the weights' head when they name one) [pooling]
          --validation X       fraction held out for model selection and thresholds [0.1]
          --test X             fraction held out for the final evaluation [0.1]
          --output DIR         output folder [./finetune-output]
          --checkpoints DIR    checkpoint folder; a run finds its checkpoint there and resumes [none]
          --offline            never download: the Hugging Face cache must have the weights (HF_HUB_OFFLINE=1 too)
          --seed N             seed of the split and of training [0]
          --plain              plain log lines instead of progress bars

        Downloads go into the Hugging Face cache (HF_HUB_CACHE, HF_HOME; HF_ENDPOINT and HF_TOKEN are honoured).
        """;

    public static FineTuneOptions Parse(string[] args)
    {
        var o = new FineTuneOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {name} needs a value.");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
                ? v : throw new ArgumentException($"Option {name} needs a whole number, got '{args[i]}'.");
            double Number() => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0
                ? v : throw new ArgumentException($"Option {name} needs a number, got '{args[i]}'.");
            o = name switch
            {
                "--weights" => o with { Weights = Value() },
                "--architecture" => o with { Architecture = Value() },
                "--manifest" => o with { Manifest = Path.GetFullPath(Value()) },
                "--folder" => o with { Folder = Path.GetFullPath(Value()) },
                "--image-folder" => o with { ImageFolder = Path.GetFullPath(Value()) },
                "--validation" => o with { ValidationFraction = Number() },
                "--test" => o with { TestFraction = Number() },
                "--epochs" => o with { Epochs = Int() },
                "--image-size" => o with { ImageSize = Int() },
                "--batch-size" => o with { BatchSize = Int() },
                "--learning-rate" => o with { LearningRate = (float)Number() },
                "--freeze-epochs" => o with { FreezeEpochs = Int() },
                "--body-lr-factor" => o with { BodyLearningRateFactor = Number() },
                "--head" => o with
                {
                    Head = Value().ToLowerInvariant() switch
                    {
                        "pooling" => Miil.ML.TorchSharp.Models.ClassifierHead.Pooling,
                        "ml-decoder" => Miil.ML.TorchSharp.Models.ClassifierHead.MLDecoder(),
                        _ => throw new ArgumentException($"Option {name} takes pooling or ml-decoder, got '{args[i]}'."),
                    },
                },
                "--precision" => o with
                {
                    Precision = Value().ToLowerInvariant() switch
                    {
                        "float32" => TrainingPrecision.Float32,
                        "bfloat16" => TrainingPrecision.BFloat16,
                        _ => throw new ArgumentException($"Option {name} takes float32 or bfloat16, got '{args[i]}'."),
                    },
                },
                "--output" => o with { Output = Path.GetFullPath(Value()) },
                "--checkpoints" => o with { CheckpointDirectory = Path.GetFullPath(Value()) },
                "--offline" => o with { Offline = true },
                "--seed" => o with { Seed = Int() },
                "--plain" => o with { Plain = true },
                _ => throw new ArgumentException($"Unknown option '{name}'.\n\n{Usage}"),
            };
        }
        if ((o.Manifest is null) == (o.Folder is null))
        {
            throw new ArgumentException($"Give the data with exactly one of --manifest FILE or --folder DIR.\n\n{Usage}");
        }
        if (o.ValidationFraction <= 0 || o.TestFraction <= 0 || o.ValidationFraction + o.TestFraction >= 0.9)
        {
            throw new ArgumentException("--validation and --test must be positive fractions that leave most images for training.");
        }
        return o;
    }
}
