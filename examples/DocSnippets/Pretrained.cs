using Microsoft.ML;
using Miil.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace DocSnippets;

/// <summary>docs/pretrained.md and docs/training.md (mixed precision).</summary>
public static class Pretrained
{
    public static TResNetAslTransformer FineTune(MLContext mlContext, IDataView train, IDataView validation)
    {
        var options = new TResNetAslOptions
        {
            PretrainedWeights = "tresnet_m.miil_in21k",   // downloaded once into the Hugging Face cache
            Architecture = TResNetArchitecture.M,
            ImageSize = 224,
            FreezeBodyEpochs = 1,                          // the new head alone first
            BodyLearningRateFactor = 0.5,
            ValidationSet = validation,
        };
        TResNetAslTransformer model = mlContext.MultiLabel().TResNetAsl(options).Fit(train);
        return model;
    }

    public static IDataView Coco(MLContext mlContext, IDataView images)
    {
        var coco = mlContext.MultiLabel().LoadPretrained("MS_COCO_TRresNet_M_224_81.8").Fit(images);
        IDataView labelled = coco.Transform(images);   // Score and PredictedLabels, slots named person, bicycle, ...
        return labelled;
    }

    public static TResNetAslOptions MixedPrecision()
    {
        var options = new TResNetAslOptions { Precision = TrainingPrecision.BFloat16 };
        return options;
    }
}
