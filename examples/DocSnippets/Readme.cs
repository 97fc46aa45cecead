using Microsoft.ML;
using Miil.ML;
using Miil.ML.Evaluation;
using Miil.ML.Reports;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace DocSnippets;

/// <summary>README.md.</summary>
public static class Readme
{
    public static void TrainingInAPipeline(IDataView train, IDataView validation, IDataView test, string imageFolder)
    {
        var ml = new MLContext(seed: 0);
        var pipeline = ml.MultiLabel().MapLabels("Label", "Tags", separator: ';')          // "cat;dog" -> 1/0 vector + class names
            .Append(ml.MultiLabel().TResNetAsl(new TResNetAslOptions
            {
                ImageColumnName = "ImagePath", ImageFolder = imageFolder,
                Architecture = TResNetArchitecture.M, ImageSize = 224,
                PretrainedWeights = "tresnet_m_miil_21k.pth",                                 // MIIL or timm layout
                Loss = { GammaNeg = 4, GammaPos = 0, Clip = 0.05f },                           // ASL settings (these are the defaults)
                Epochs = 40, BatchSize = 64, LearningRate = 1e-4f,
                ValidationSet = validation, CheckpointDirectory = "checkpoints",
            }));
        var model = pipeline.Fit(train);                                 // progress via MLContext.Log and options.Progress
        MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(test));
        metrics.SaveReport("report.html");
        model.LastTransformer.SaveOnnx("model.onnx");                    // scored later without libtorch: ScoreImages
        ml.Model.Save(model.LastTransformer, train.Schema, "model.zip"); // loads in any ML.NET app
    }
}
