using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>A small built-in set on disk (synthetic shapes), split into training and validation, with labels mapped.</summary>
internal sealed class ShapesSet : IDisposable
{
    public const int Classes = 6;

    public ShapesSet(int train, int validation, int seed = 11)
    {
        Folder = Directory.CreateTempSubdirectory("miil-train-").FullName;
        Manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = train + validation, ClassCount = Classes, ImageSize = 48, Seed = seed, MaxObjects = 3 }, Folder);
        Context = new MLContext(seed: 1);
        IDataView all = Context.Data.LoadFromTextFile<Row>(Manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
        Mapper = Context.MultiLabel().MapLabels("Label", "Labels", classes: SyntheticShapes.ClassNames(Classes)).Fit(all);
        Train = Mapper.Transform(Context.Data.TakeRows(all, train));
        Validation = Mapper.Transform(Context.Data.SkipRows(all, train));
    }

    public string Folder { get; }

    public string Manifest { get; }

    public MLContext Context { get; }

    public ITransformer Mapper { get; }

    public IDataView Train { get; }

    public IDataView Validation { get; }

    /// <summary>A tiny, fast configuration: one block per stage at quarter width, 32 px.</summary>
    public TResNetAslOptions Options(int epochs = 3) => new()
    {
        ImageColumnName = "ImagePath",
        ImageFolder = Folder,
        Architecture = TResNetArchitecture.Custom([1, 1, 1, 1], 0.25),
        ImageSize = 32,
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 3e-3f,
        EmaDecay = 0.9,
        Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        ValidationSet = Validation,
        Seed = 5,
    };

    /// <summary>
    /// The mAP of scores that know nothing (every image scored alike, ties counted as the tie-aware
    /// definition does): each class's share of positive validation rows, averaged over classes with any.
    /// </summary>
    public double ValidationPrevalence()
    {
        float[][] labels = Validation.GetColumn<float[]>("Label").ToArray();
        return Enumerable.Range(0, Classes)
            .Select(c => (Positives: labels.Count(l => l[c] == 1), Known: labels.Count(l => l[c] >= 0)))
            .Where(c => c.Positives > 0)
            .Average(c => (double)c.Positives / c.Known);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    public sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }
}
