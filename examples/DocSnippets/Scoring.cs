using Microsoft.ML;
using Miil.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;

namespace DocSnippets;

/// <summary>docs/scoring.md.</summary>
public static class Scoring
{
    public static IDataView ScoreSaveLoad(IDataView data, string folder)
    {
        var ml = new MLContext(seed: 0) { GpuDeviceId = 0, FallbackToCpu = true };   // GPU when usable
        using ImageScoringTransformer scorer = ml.MultiLabel()
            .ScoreImages("model.onnx", imageColumnName: "ImagePath", imageFolder: folder, batchSize: 64)   // or an options object
            .Fit(data);
        IDataView scored = scorer.Transform(data);          // + Score (float[C]) + PredictedLabels (bool[C]), class names as slot names
        ml.Model.Save(scorer, data.Schema, "model.zip");    // stock transforms: loads in any ML.NET app
        using ImageScoringTransformer again = ml.MultiLabel().LoadModel("model.zip",
            new ImageScoringOptions { ImageColumnName = "ImagePath" });   // batched again, slot names back
        return again.Transform(data);
    }
}
