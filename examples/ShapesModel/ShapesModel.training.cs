using Miil.ML.Evaluation;
using Microsoft.ML;
using Miil.ML;
using Miil.ML.Datasets;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace ShapesModel_App;

public partial class ShapesModel
{
    /// <summary>Trains a model on the configured data and saves it to <paramref name="outputModelPath"/>.</summary>
    public static void Train(string outputModelPath, ShapesModelConfig config, string configFolder)
    {
        var mlContext = new MLContext(seed: config.TrainingOption.Seed);
        DataOperationsCatalog.TrainTestData split = SplitData(mlContext, LoadIDataViewFromConfig(mlContext, config, configFolder), config);
        using TResNetAslTransformer model = RetrainModel(mlContext, split.TrainSet, split.TestSet, config);
        SaveModel(mlContext, model, split.TrainSet, outputModelPath);
    }

    /// <summary>The training/validation split (the same on every call for one config).</summary>
    public static DataOperationsCatalog.TrainTestData SplitData(MLContext mlContext, IDataView data, ShapesModelConfig config)
        => mlContext.Data.TrainTestSplit(data, testFraction: config.ValidationFraction, seed: config.TrainingOption.Seed);

    /// <summary>Loads the configured data source as ImagePath + Label (with class names).</summary>
    public static IDataView LoadIDataViewFromConfig(MLContext mlContext, ShapesModelConfig config, string configFolder)
    {
        DataSourceConfig source = config.DataSource;
        string Resolve(string? path, string what) => Path.GetFullPath(Path.Combine(configFolder,
            path ?? throw new InvalidDataException($"DataSource.{what} is required for a {source.Type} source.")));
        return source.Type switch
        {
            DataSourceType.BuiltIn => mlContext.MultiLabel().LoadManifest(BuiltInManifest(source, config, configFolder)),
            DataSourceType.Manifest => mlContext.MultiLabel().LoadManifest(Resolve(source.Path, "Path"),
                new ManifestOptions { ImageFolder = source.ImageFolder is null ? null : Resolve(source.ImageFolder, "ImageFolder") }),
            DataSourceType.Coco => mlContext.MultiLabel().LoadCoco(Resolve(source.Path, "Path"), Resolve(source.ImageFolder, "ImageFolder")),
            DataSourceType.Voc => mlContext.MultiLabel().LoadVoc(Resolve(source.Path, "Path"), source.ImageSet ?? "trainval"),
            DataSourceType.Folders => mlContext.MultiLabel().LoadImageFolders(Resolve(source.Path, "Path")),
            _ => throw new InvalidDataException($"Unknown data source type {source.Type}."),
        };
    }

    /// <summary>The built-in data's manifest, generated on first use (the same images for the same config).</summary>
    private static string BuiltInManifest(DataSourceConfig source, ShapesModelConfig config, string configFolder)
    {
        string folder = Path.Combine(configFolder, "builtin-data");
        string manifest = Path.Combine(folder, "labels.csv");
        return File.Exists(manifest) && File.ReadLines(manifest).Count() == source.BuiltInImages + 1
            ? manifest
            : SyntheticShapes.Write(new SyntheticShapesOptions { Count = source.BuiltInImages, ClassCount = 12, ImageSize = 64, Seed = config.TrainingOption.Seed }, folder);
    }

    /// <summary>Builds the training pipeline: the readers already give the Label vector, so the trainer alone.</summary>
    public static IEstimator<TResNetAslTransformer> BuildPipeline(MLContext mlContext, IDataView validation, ShapesModelConfig config)
    {
        TrainingConfig t = config.TrainingOption;
        return mlContext.MultiLabel().TResNetAsl(new TResNetAslOptions
        {
            LabelColumnName = "Label",
            ImageColumnName = "ImagePath",
            Architecture = t.Layers is { } layers ? TResNetArchitecture.Custom(layers, t.WidthFactor) : TResNetArchitecture.FromName(t.Architecture),
            PretrainedWeights = t.PretrainedWeights,
            ImageSize = t.ImageSize,
            Epochs = t.Epochs,
            BatchSize = t.BatchSize,
            LearningRate = t.LearningRate,
            EmaDecay = t.EmaDecay,
            Augmentation = new AugmentationOptions
            {
                HorizontalFlipProbability = t.HorizontalFlipProbability,
                CutoutFactor = t.CutoutFactor,
                RandAugmentOperations = t.RandAugmentOperations,
            },
            ValidationSet = validation,
            Thresholds = { Selection = Enum.Parse<ThresholdSelection>(t.ThresholdSelection, ignoreCase: true) },
            Seed = t.Seed,
        });
    }

    /// <summary>Trains the pipeline on <paramref name="trainData"/>.</summary>
    public static TResNetAslTransformer RetrainModel(MLContext mlContext, IDataView trainData, IDataView validation, ShapesModelConfig config)
        => BuildPipeline(mlContext, validation, config).Fit(trainData);

    /// <summary>Saves the scoring model (ONNX inside a standard ML.NET zip).</summary>
    public static void SaveModel(MLContext mlContext, ITransformer model, IDataView data, string modelSavePath)
        => mlContext.Model.Save(model, data.Schema, modelSavePath);
}
