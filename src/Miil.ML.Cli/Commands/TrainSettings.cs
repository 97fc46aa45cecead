using Miil.ML.Cli.Data;

namespace Miil.ML.Cli.Commands;

/// <summary>
/// Everything a <c>miil train</c> run was given, written beside the model as <c>&lt;Name&gt;.mbconfig</c> (the
/// role Model Builder's file plays) and replayed by <c>miil train --config</c>; options given on the command
/// line override the file's. Paths are stored in full, so that a replay reads the same data from any folder.
/// </summary>
internal sealed record TrainSettings
{
    /// <summary>The file's format; a later tool reads older versions.</summary>
    public int Version { get; init; } = 1;

    public string Scenario { get; init; } = "MultiLabelImageClassification";

    public string Tool { get; init; } = "miil " + typeof(TrainSettings).Assembly.GetName().Version?.ToString(3);

    public string Name { get; init; } = "MultiLabelModel";

    public string Dataset { get; init; } = "";

    public DatasetFormat Format { get; init; }

    public string? LabelColumn { get; init; }

    public string? ImageColumn { get; init; }

    public char LabelSeparator { get; init; } = ';';

    public string? ImageFolder { get; init; }

    public string VocSplit { get; init; } = "trainval";

    public string? ValidationDataset { get; init; }

    public double ValidationFraction { get; init; } = 0.2;

    public string Model { get; init; } = "tresnet-m";

    public string Head { get; init; } = "auto";

    public int? ImageSize { get; init; }

    public int Epochs { get; init; } = 10;

    public int? TrainTimeSeconds { get; init; }

    public int BatchSize { get; init; } = 32;

    public float? LearningRate { get; init; }

    public double GammaNeg { get; init; } = 4;

    public double GammaPos { get; init; }

    public double Clip { get; init; } = 0.05;

    public string Precision { get; init; } = "auto";

    public string Thresholds { get; init; } = "tuned";

    public float Threshold { get; init; } = Miil.ML.Evaluation.ThresholdOptions.DefaultThreshold;

    public double EmaDecay { get; init; } = 0.9997;

    public string Augment { get; init; } = "standard";

    public int FreezeEpochs { get; init; }

    public double BodyLearningRateFactor { get; init; } = 1;

    public int? CheckpointEverySteps { get; init; }

    public int Seed { get; init; }

    /// <summary>What the run reached (written after training; ignored on replay).</summary>
    public TrainResult? Result { get; init; }

    internal DatasetReader.Settings DatasetSettings => new(LabelColumn, ImageColumn, LabelSeparator, ImageFolder, VocSplit);
}

/// <summary>The outcome a settings file records.</summary>
internal sealed record TrainResult(int Epochs, int SelectedEpoch, string SelectedWeights, double? ValidationMap, double TrainingSeconds, string Precision, int ImageSize, int Classes);
