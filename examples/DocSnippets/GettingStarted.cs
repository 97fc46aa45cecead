using Microsoft.ML;
using Miil.ML;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Reports;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace DocSnippets;

/// <summary>docs/getting-started.md.</summary>
public static class GettingStarted
{
    public static void FirstModel()
    {
        var ml = new MLContext(seed: 0);
        // images/…, train.csv and valid.csv hold "ImagePath,Labels" lines such as "images/1.jpg,cat;dog"
        IDataView train = ml.MultiLabel().LoadManifest("train.csv");
        IReadOnlyList<string> classes = ml.MultiLabel().GetClassNames(train);   // one label space for every split
        IDataView valid = ml.MultiLabel().LoadManifest("valid.csv", new ManifestOptions { Classes = classes });

        var trainer = ml.MultiLabel().TResNetAsl(new TResNetAslOptions
        {
            Architecture = TResNetArchitecture.M,
            PretrainedWeights = "tresnet_m_miil_21k.pth",   // optional: start from ImageNet-21K weights
            ImageSize = 224,
            Epochs = 20,
            ValidationSet = valid,
            Thresholds = { Selection = ThresholdSelection.TunedPerClass },
            CheckpointDirectory = "checkpoints",             // resumable
        });
        using TResNetAslTransformer model = trainer.Fit(train);

        MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(valid));
        Console.WriteLine($"mAP {metrics.MeanAveragePrecision:P2}, CF1 {metrics.AtThreshold.CF1:P2}");
        metrics.SaveReport("report.html");
        model.SaveOnnx("model.onnx");
        ml.Model.Save(model, train.Schema, "model.zip");
    }

    public static void ScoreOnGpu(IDataView images)
    {
        var ml = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };   // CPU, with a warning, where CUDA is unusable
        using ImageScoringTransformer scorer = ml.MultiLabel()
            .ScoreImages("model.onnx", imageColumnName: "ImagePath", batchSize: 64)
            .Fit(images);
        Console.WriteLine($"Scoring on {scorer.Device}");
        IDataView scored = scorer.Transform(images);   // + Score (float[C]) and PredictedLabels (bool[C]) with class names
    }
}
