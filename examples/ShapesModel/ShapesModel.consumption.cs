using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;

namespace ShapesModel_App;

public partial class ShapesModel
{
    /// <summary>Model input: an image path.</summary>
    public class ModelInput
    {
        [LoadColumn(0)]
        [ColumnName("ImagePath")]
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Model output: one probability and one decision per class, in class order.</summary>
    public class ModelOutput
    {
        [ColumnName("ImagePath")]
        public string ImagePath { get; set; } = "";

        [ColumnName("Score")]
        public float[] Score { get; set; } = [];

        [ColumnName("PredictedLabels")]
        public bool[] PredictedLabels { get; set; } = [];
    }

    /// <summary>Where the trained model is read from.</summary>
    public static string MLNetModelPath { get; set; } = Path.GetFullPath("ShapesModel.zip");

    private static readonly Lazy<(PredictionEngine<ModelInput, ModelOutput> Engine, IReadOnlyList<string> Labels)> PredictEngine = new(CreatePredictEngine, true);

    /// <summary>Scores one image.</summary>
    public static ModelOutput Predict(ModelInput input) => PredictEngine.Value.Engine.Predict(input);

    /// <summary>Scores one image and returns every class with its score, highest first.</summary>
    public static IOrderedEnumerable<KeyValuePair<string, float>> PredictAllLabels(ModelInput input)
    {
        ModelOutput result = Predict(input);
        IReadOnlyList<string> labels = PredictEngine.Value.Labels;
        return labels.Select((label, i) => new KeyValuePair<string, float>(label, result.Score[i])).OrderByDescending(p => p.Value);
    }

    /// <summary>The class names, in score order.</summary>
    public static IReadOnlyList<string> GetLabels() => PredictEngine.Value.Labels;

    private static (PredictionEngine<ModelInput, ModelOutput>, IReadOnlyList<string>) CreatePredictEngine()
    {
        var mlContext = new MLContext();
        // LoadModel restores the batched scorer with class names; mlContext.Model.Load also works (no slot names).
        ImageScoringTransformer model = mlContext.MultiLabel().LoadModel(MLNetModelPath, new ImageScoringOptions { ImageColumnName = "ImagePath" });
        return (mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model), model.Model.ClassNames);
    }
}
