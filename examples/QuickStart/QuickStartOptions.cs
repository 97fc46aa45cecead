using System.Globalization;

namespace QuickStart;

/// <summary>Command-line options of the QuickStart (all optional).</summary>
internal sealed record QuickStartOptions
{
    public int TrainImages { get; init; } = 2400;
    public int ValidationImages { get; init; } = 300;
    public int TestImages { get; init; } = 300;
    public int Classes { get; init; } = 12;
    public int Epochs { get; init; } = 15;
    public int ImageSize { get; init; } = 64;
    public int BatchSize { get; init; } = 32;
    public float LearningRate { get; init; } = 2e-3f;
    public string Output { get; init; } = Path.Combine(Directory.GetCurrentDirectory(), "quickstart-output");
    public string? CheckpointDirectory { get; init; }
    public int? CheckpointEverySteps { get; init; }
    public Miil.ML.TorchSharp.Training.TrainingPrecision Precision { get; init; }
    public Miil.ML.TorchSharp.Models.ClassifierHead? Head { get; init; }
    public int Seed { get; init; }
    public bool Plain { get; init; } = Console.IsOutputRedirected;

    public const string Usage = """
        QuickStart: trains a small TResNet with ASL on the built-in synthetic shapes, evaluates it on a
        held-out split, writes report.html, model.onnx and model.zip, and scores a few held-out images.

        Options (defaults in brackets):
          --train N            training images [2400]
          --validation N       validation images [300]
          --test N             held-out test images [300]
          --classes N          classes, up to 30 [12]
          --epochs N           epochs [15]
          --image-size N       network input side, a multiple of 4 (best 32) [64]
          --batch-size N       images per step [32]
          --learning-rate X    peak OneCycle learning rate [0.002]
          --output DIR         output folder [./quickstart-output]
          --checkpoints DIR    checkpoint folder; a run finds its checkpoint there and resumes [none]
          --checkpoint-every N also write the checkpoint every N steps, not only per epoch [off]
          --seed N             seed of data and training [0]
          --precision P        float32 or bfloat16 (mixed precision; pays on CPUs with fast bfloat16) [float32]
          --head H             pooling or ml-decoder (ML-Decoder: 100 groups, 768 wide; the weights' head when they name one) [pooling]
          --doctor             only examine this machine (CUDA, ONNX Runtime, libtorch, CPU) and print why the GPU is or is not used
          --plain              plain log lines instead of a progress bar (default when output is redirected)
        """;

    public static QuickStartOptions Parse(string[] args)
    {
        var options = new QuickStartOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {name} needs a value.");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"Option {name} needs a positive whole number, got '{args[i]}'.");
            options = name switch
            {
                "--train" => options with { TrainImages = Int() },
                "--validation" => options with { ValidationImages = Int() },
                "--test" => options with { TestImages = Int() },
                "--classes" => options with { Classes = Int() },
                "--epochs" => options with { Epochs = Int() },
                "--image-size" => options with { ImageSize = Int() },
                "--batch-size" => options with { BatchSize = Int() },
                "--learning-rate" => options with
                {
                    LearningRate = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr > 0
                        ? lr : throw new ArgumentException($"Option {name} needs a positive number, got '{args[i]}'."),
                },
                "--output" => options with { Output = Path.GetFullPath(Value()) },
                "--checkpoints" => options with { CheckpointDirectory = Path.GetFullPath(Value()) },
                "--head" => options with
                {
                    Head = Value().ToLowerInvariant() switch
                    {
                        "pooling" => Miil.ML.TorchSharp.Models.ClassifierHead.Pooling,
                        "ml-decoder" => Miil.ML.TorchSharp.Models.ClassifierHead.MLDecoder(),
                        _ => throw new ArgumentException($"Option {name} takes pooling or ml-decoder, got '{args[i]}'."),
                    },
                },
                "--precision" => options with
                {
                    Precision = Value().ToLowerInvariant() switch
                    {
                        "float32" => Miil.ML.TorchSharp.Training.TrainingPrecision.Float32,
                        "bfloat16" => Miil.ML.TorchSharp.Training.TrainingPrecision.BFloat16,
                        _ => throw new ArgumentException($"Option {name} takes float32 or bfloat16, got '{args[i]}'."),
                    },
                },
                "--checkpoint-every" => options with { CheckpointEverySteps = Int() },
                "--seed" => options with { Seed = int.TryParse(Value(), CultureInfo.InvariantCulture, out int s) ? s : throw new ArgumentException($"Option {name} needs a whole number.") },
                "--plain" => options with { Plain = true },
                "--doctor" => options,
                _ => throw new ArgumentException($"Unknown option '{name}'.\n\n{Usage}"),
            };
        }
        if (options.Classes > Miil.ML.Datasets.SyntheticShapes.MaxClasses)
        {
            throw new ArgumentException($"--classes {options.Classes}: the built-in data has at most {Miil.ML.Datasets.SyntheticShapes.MaxClasses} classes.");
        }
        if (options.CheckpointEverySteps is not null && options.CheckpointDirectory is null)
        {
            throw new ArgumentException("--checkpoint-every needs --checkpoints DIR.");
        }
        if (options.ImageSize % 4 != 0)
        {
            throw new ArgumentException($"--image-size {options.ImageSize}: TResNet needs a multiple of 4 (32, 64, 96, ... work best).");
        }
        return options;
    }
}
