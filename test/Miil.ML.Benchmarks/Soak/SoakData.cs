using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>Built-in images with mapped labels, and the tiny trainer configuration the soaks share.</summary>
internal sealed class SoakData
{
    public const int Classes = 8;

    public SoakData(string folder, int train, int validation, int imageSize = 32)
    {
        Folder = folder;
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = train + validation, ClassCount = Classes, ImageSize = Math.Max(48, imageSize), Seed = 3 }, folder);
        Context = new MLContext(seed: 0);
        IDataView all = Context.Data.LoadFromTextFile<Row>(manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
        ITransformer mapper = Context.MultiLabel().MapLabels("Label", "Labels", classes: SyntheticShapes.ClassNames(Classes)).Fit(all);
        Train = mapper.Transform(Context.Data.TakeRows(all, train));
        Validation = mapper.Transform(Context.Data.SkipRows(all, train));
        Paths = Context.Data.CreateEnumerable<Row>(all, reuseRowObject: false).Select(r => Path.Combine(folder, r.ImagePath)).ToArray();
        ImageSize = imageSize;
    }

    public string Folder { get; }

    public MLContext Context { get; }

    public IDataView Train { get; }

    public IDataView Validation { get; }

    /// <summary>Every image's full path, training rows first.</summary>
    public string[] Paths { get; }

    public int ImageSize { get; }

    public TResNetAslOptions Options(int epochs) => new()
    {
        ImageColumnName = "ImagePath",
        ImageFolder = Folder,
        Architecture = TResNetArchitecture.Custom([1, 1, 1, 1], 0.25),
        ImageSize = ImageSize,
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 3e-3f,
        EmaDecay = 0.9,
        Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        Seed = 1,
    };

    public sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }

    public sealed class Scored
    {
        public string ImagePath { get; set; } = "";

        [VectorType]
        public float[] Score { get; set; } = [];

        [VectorType]
        public bool[] PredictedLabels { get; set; } = [];
    }

    public sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
