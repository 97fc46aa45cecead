using System.CommandLine;
using System.CommandLine.Parsing;
using Miil.ML.Cli.Data;
using Miil.ML.Cli.Output;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil train</c>: the options, read into <see cref="TrainSettings"/> (over a replayed <c>--config</c>), then <see cref="TrainRun"/>.</summary>
internal static class TrainCommand
{
    private static readonly DatasetOptions Data = new(required: false);

    private static readonly Option<string?> Validation = new("--validation-dataset")
    {
        Description = "Labelled images to select the epoch and tune thresholds on (same format as --dataset); default: --validation-fraction of --dataset",
    };

    private static readonly Option<double> ValidationFraction = new("--validation-fraction")
    {
        Description = "Share of --dataset held out for validation when --validation-dataset is not given",
        DefaultValueFactory = _ => 0.2,
    };

    private static readonly Option<string> Model = new("--model", "-m")
    {
        Description = "A catalogue name ('miil models'), a checkpoint file, hf-hub:org/name, or an architecture to train from scratch (tresnet-m, resnet18, ...)",
        DefaultValueFactory = _ => "tresnet-m",
    };

    private static readonly Option<string> Head = new("--head")
    {
        Description = "The classifier head: auto (the pretrained weights' own head, else pooling), pooling (global average pooling and a linear layer) or ml-decoder",
        DefaultValueFactory = _ => "auto",
    };

    private static readonly Option<int?> ImageSize = new("--image-size") { Description = "Network input side in pixels (default: the weights' size, else 224)" };

    private static readonly Option<int> Epochs = new("--epochs", "-e") { Description = "Epochs to train (--train-time picks them instead)", DefaultValueFactory = _ => 10 };

    private static readonly Option<int?> TrainTime = new("--train-time", "-t")
    {
        Description = "Time budget in seconds: the epochs are picked from a measured short run to end within it",
    };

    private static readonly Option<int> BatchSize = new("--batch-size", "-b") { Description = "Images per step", DefaultValueFactory = _ => 32 };

    private static readonly Option<float?> LearningRate = new("--learning-rate", "--lr")
    {
        Description = "Peak OneCycle learning rate (default 2e-4 from pretrained weights, 2e-3 from scratch)",
    };

    private static readonly Option<double> GammaNeg = new("--gamma-neg") { Description = "ASL's focusing of negatives", DefaultValueFactory = _ => 4 };

    private static readonly Option<double> GammaPos = new("--gamma-pos") { Description = "ASL's focusing of positives", DefaultValueFactory = _ => 0 };

    private static readonly Option<double> Clip = new("--clip") { Description = "ASL's probability margin for negatives", DefaultValueFactory = _ => 0.05 };

    private static readonly Option<string> Precision = new("--precision")
    {
        Description = "auto (whichever measures faster for this network here: float32 without bfloat16 instructions), float32 or bfloat16",
        DefaultValueFactory = _ => "auto",
    };

    private static readonly Option<string> Thresholds = new("--thresholds")
    {
        Description = "tuned (per class, on the validation set, best F1) or fixed (--threshold for every class)",
        DefaultValueFactory = _ => "tuned",
    };

    private static readonly Option<float> Threshold = new("--threshold")
    {
        Description = "The decision threshold with --thresholds fixed",
        DefaultValueFactory = _ => Miil.ML.Evaluation.ThresholdOptions.DefaultThreshold,
    };

    private static readonly Option<double> EmaDecay = new("--ema-decay")
    {
        Description = "Decay of the weights' moving average (0 turns it off; 0.98-0.99 for runs of a few hundred steps)",
        DefaultValueFactory = _ => 0.9997,
    };

    private static readonly Option<string> Augment = new("--augment")
    {
        Description = "standard (RandAugment and Cutout: the papers' recipe), flip (horizontal flips only: where colour or position is a label) or none",
        DefaultValueFactory = _ => "standard",
    };

    private static readonly Option<int> FreezeEpochs = new("--freeze-epochs") { Description = "Pretrained weights: epochs that train the head alone first", DefaultValueFactory = _ => 0 };

    private static readonly Option<double> BodyRate = new("--body-lr-factor")
    {
        Description = "Pretrained weights: the body's learning rate as a share of the head's",
        DefaultValueFactory = _ => 1,
    };

    private static readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = "Also checkpoint every N steps (always at each epoch's end)" };

    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run whose checkpoint is in the output folder (after Ctrl+C or a crash)" };

    private static readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace the model, checkpoint and generated project already in the output folder" };

    private static readonly Option<int> Seed = new("--seed") { Description = "Seed of the split, shuffling, augmentation and initialisation", DefaultValueFactory = _ => 0 };

    private static readonly Option<string> Name = new("--name", "-n")
    {
        Description = "The model's name: the settings file <Name>.mbconfig and the generated project <Name>.ConsoleApp",
        DefaultValueFactory = _ => "MultiLabelModel",
    };

    private static readonly Option<string?> Output = new("--output", "-o") { Description = "Output folder (default: ./<Name>)" };

    private static readonly Option<string?> Config = new("--config")
    {
        Description = "Replay a run: the <Name>.mbconfig a previous 'miil train' wrote (options given here override it)",
    };

    public static Command Create()
    {
        var command = new Command("train", "Train a multi-label image classifier (TResNet or ResNet, pooling or ML-Decoder head, ASL) and write model.onnx, model.zip, "
            + "report.html, metrics.json, the log, the settings (<Name>.mbconfig) and a console project that calls the model.\n\n"
            + "Examples:\n"
            + "  miil train --dataset photos/labels.csv --model resnet18-mlnet --train-time 600 -o out\n"
            + "  miil train -d coco/annotations/instances_train2017.json --image-folder coco/train2017 -m tresnet-m --head ml-decoder\n"
            + "  miil train -d VOCdevkit/VOC2007 --validation-dataset VOCdevkit/VOC2007 --voc-split trainval -m tresnet-l\n"
            + "  miil train --config out/MultiLabelModel.mbconfig --epochs 20 -o out2\n"
            + "  miil train --config out/MultiLabelModel.mbconfig -o out --resume      (after Ctrl+C)");
        Data.AddTo(command);
        foreach (Option option in new Option[]
        {
            Validation, ValidationFraction, Model, Head, ImageSize, Epochs, TrainTime, BatchSize, LearningRate, GammaNeg, GammaPos, Clip, Precision,
            Thresholds, Threshold, EmaDecay, Augment, FreezeEpochs, BodyRate, CheckpointEvery, Resume, Overwrite, Seed, Name, Output, Config,
        })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            (TrainSettings settings, string? configFolder) = Read(parsed);
            string output = Path.GetFullPath(parsed.GetValue(Output) ?? settings.Name);
            await Task.Yield();
            return TrainRun.Run(settings, configFolder, output, parsed.GetValue(Resume), parsed.GetValue(Overwrite), terminal, cancel);
        }));
        return command;
    }

    /// <summary>The run's settings: the replayed file's, with every option given on the command line over it.</summary>
    internal static (TrainSettings Settings, string? ConfigFolder) Read(ParseResult parsed)
    {
        TrainSettings settings = new();
        string? configFolder = null;
        if (parsed.GetValue(Config) is string config)
        {
            if (!File.Exists(config))
            {
                throw new CliException($"--config '{config}' does not exist.", ExitCodes.Input);
            }
            try
            {
                settings = Terminal.FromJson<TrainSettings>(File.ReadAllText(config)) ?? throw new CliException($"--config '{config}' is empty.", ExitCodes.Input);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new CliException($"--config '{config}' is not a settings file of 'miil train' ({e.Message}).", ExitCodes.Input);
            }
            if (settings.Version > new TrainSettings().Version)
            {
                throw new CliException($"--config '{config}' is version {settings.Version}; this miil reads up to {new TrainSettings().Version}: update the tool.", ExitCodes.Input);
            }
            configFolder = Path.GetDirectoryName(Path.GetFullPath(config));
        }
        bool Given(Option option) => parsed.GetResult(option) is { Implicit: false };
        T Pick<T>(Option<T> option, T fromFile) => configFolder is null || Given(option) ? parsed.GetValue(option)! : fromFile;

        settings = settings with
        {
            Name = Pick(Name, settings.Name),
            Dataset = Pick(Data.Dataset, settings.Dataset) ?? "",
            Format = Pick(DatasetOptions.Format, settings.Format),
            LabelColumn = Pick(DatasetOptions.LabelColumn, settings.LabelColumn),
            ImageColumn = Pick(DatasetOptions.ImageColumn, settings.ImageColumn),
            LabelSeparator = Pick(DatasetOptions.LabelSeparator, settings.LabelSeparator),
            ImageFolder = Pick(DatasetOptions.ImageFolder, settings.ImageFolder),
            VocSplit = Pick(DatasetOptions.VocSplit, settings.VocSplit)!,
            ValidationDataset = Pick(Validation, settings.ValidationDataset),
            ValidationFraction = Pick(ValidationFraction, settings.ValidationFraction),
            Model = Pick(Model, settings.Model)!,
            Head = Pick(Head, settings.Head)!,
            ImageSize = Pick(ImageSize, settings.ImageSize),
            Epochs = Pick(Epochs, settings.Epochs),
            TrainTimeSeconds = Pick(TrainTime, settings.TrainTimeSeconds),
            BatchSize = Pick(BatchSize, settings.BatchSize),
            LearningRate = Pick(LearningRate, settings.LearningRate),
            GammaNeg = Pick(GammaNeg, settings.GammaNeg),
            GammaPos = Pick(GammaPos, settings.GammaPos),
            Clip = Pick(Clip, settings.Clip),
            Precision = Pick(Precision, settings.Precision)!,
            Thresholds = Pick(Thresholds, settings.Thresholds)!,
            Threshold = Pick(Threshold, settings.Threshold),
            EmaDecay = Pick(EmaDecay, settings.EmaDecay),
            Augment = Pick(Augment, settings.Augment)!,
            FreezeEpochs = Pick(FreezeEpochs, settings.FreezeEpochs),
            BodyLearningRateFactor = Pick(BodyRate, settings.BodyLearningRateFactor),
            CheckpointEverySteps = Pick(CheckpointEvery, settings.CheckpointEverySteps),
            Seed = Pick(Seed, settings.Seed),
            Result = null,
        };
        if (configFolder is not null)
        {
            // Paths given here are the shell's (the current folder); the file's own resolve against its folder later.
            settings = settings with
            {
                Dataset = Given(Data.Dataset) ? Path.GetFullPath(settings.Dataset) : settings.Dataset,
                ValidationDataset = Given(Validation) && settings.ValidationDataset is string v ? Path.GetFullPath(v) : settings.ValidationDataset,
                ImageFolder = Given(DatasetOptions.ImageFolder) && settings.ImageFolder is string f ? Path.GetFullPath(f) : settings.ImageFolder,
                Model = Given(Model) && File.Exists(settings.Model) ? Path.GetFullPath(settings.Model) : settings.Model,
            };
        }
        Validate(settings);
        return (settings, configFolder);
    }

    private static void Validate(TrainSettings s)
    {
        if (s.Dataset.Length == 0)
        {
            throw new CliException("--dataset is required (or --config with a settings file that names it).");
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(s.Name, "^[A-Za-z_][A-Za-z0-9_]*$"))
        {
            throw new CliException($"--name '{s.Name}' must be a C# identifier (letters, digits, underscores; not starting with a digit): it names the generated project's class.");
        }
        if (s.ValidationDataset is null && s.ValidationFraction is <= 0 or >= 1)
        {
            throw new CliException($"--validation-fraction {s.ValidationFraction} must be between 0 and 1.");
        }
        if (s.Epochs < 1 || s.BatchSize < 1 || s.ImageSize is < 32 || s.TrainTimeSeconds is < 1 || s.CheckpointEverySteps is < 1 || s.FreezeEpochs < 0)
        {
            throw new CliException("--epochs, --batch-size, --train-time and --checkpoint-every must be positive, --image-size at least 32, --freeze-epochs at least 0.");
        }
        if (s.LearningRate is <= 0 || s.BodyLearningRateFactor is < 0 or > 1)
        {
            throw new CliException("--learning-rate must be positive and --body-lr-factor between 0 and 1.");
        }
        if (s.Head is not ("auto" or "pooling" or "ml-decoder"))
        {
            throw new CliException($"--head takes auto, pooling or ml-decoder, not '{s.Head}'.");
        }
        if (s.Precision is not ("auto" or "float32" or "bfloat16"))
        {
            throw new CliException($"--precision takes auto, float32 or bfloat16, not '{s.Precision}'.");
        }
        if (s.Thresholds is not ("tuned" or "fixed"))
        {
            throw new CliException($"--thresholds takes tuned or fixed, not '{s.Thresholds}'.");
        }
        if (s.Augment is not ("standard" or "flip" or "none"))
        {
            throw new CliException($"--augment takes standard, flip or none, not '{s.Augment}'.");
        }
        if (s.EmaDecay is < 0 or >= 1)
        {
            throw new CliException($"--ema-decay {s.EmaDecay} must be at least 0 and below 1.");
        }
        if (s.Threshold is <= 0 or >= 1)
        {
            throw new CliException($"--threshold {s.Threshold} must be between 0 and 1.");
        }
    }
}
