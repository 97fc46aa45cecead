using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks;

/// <summary>
/// The QuickStart's data and options (examples/QuickStart, defaults): 3,000 generated images of 12 classes split
/// 2,400 / 300 / 300, the small TResNet at 64 px for 15 epochs. The benchmarks that train it to the end with one
/// thing changed (the precision, the head) start from here.
/// </summary>
internal sealed class QuickStartSetup
{
    public const int Images = 3000, TrainImages = 2400, ValidationImages = 300, TestImages = 300, Classes = 12;

    private QuickStartSetup(MLContext context, string folder, ITransformer labels, IDataView train, IDataView validation, IDataView test)
    {
        Context = context;
        Folder = folder;
        Labels = labels;
        Train = train;
        Validation = validation;
        Test = test;
    }

    public MLContext Context { get; }

    public string Folder { get; }

    /// <summary>The fitted label mapping (every split shares the class list).</summary>
    public ITransformer Labels { get; }

    /// <summary>The splits, labels mapped.</summary>
    public IDataView Train { get; }

    public IDataView Validation { get; }

    public IDataView Test { get; }

    /// <summary>Writes the images into <paramref name="folder"/>; returns the manifest.</summary>
    public static string Write(string folder)
        => SyntheticShapes.Write(new SyntheticShapesOptions { Count = Images, ClassCount = Classes, ImageSize = 64, Seed = 0 }, folder);

    /// <summary>The splits of the manifest <see cref="Write"/> made, in a fresh context of seed 0.</summary>
    public static QuickStartSetup Read(string folder, string manifest)
    {
        var ml = new MLContext(seed: 0);
        IDataView all = ml.Data.LoadFromTextFile<Row>(manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView train = ml.Data.TakeRows(all, TrainImages);
        IDataView validation = ml.Data.TakeRows(ml.Data.SkipRows(all, TrainImages), ValidationImages);
        IDataView test = ml.Data.SkipRows(all, TrainImages + ValidationImages);
        ITransformer labels = ml.MultiLabel().MapLabels("Label", "Labels", separator: ';', classes: SyntheticShapes.ClassNames(Classes)).Fit(train);
        return new QuickStartSetup(ml, folder, labels, labels.Transform(train), labels.Transform(validation), labels.Transform(test));
    }

    /// <summary>The QuickStart's trainer options (flips only, EMA 0.98, per-class thresholds tuned on validation).</summary>
    public TResNetAslOptions Options() => new()
    {
        ImageColumnName = "ImagePath",
        ImageFolder = Folder,
        Architecture = TResNetArchitecture.Custom([1, 1, 1, 1], 0.5),
        ImageSize = 64,
        Epochs = 15,
        BatchSize = 32,
        LearningRate = 2e-3f,
        EmaDecay = 0.98,
        Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        ValidationSet = Validation,
        Thresholds = { Selection = ThresholdSelection.TunedPerClass },
        Seed = 0,
    };

    private sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }
}
