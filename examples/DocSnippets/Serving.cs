using Microsoft.Extensions.DependencyInjection;
using Miil.ML.Onnx.Serving;
using Miil.ML.TorchSharp.Training;

namespace DocSnippets;

/// <summary>docs/deployment.md.</summary>
public static class Serving
{
    /// <summary>Stands for ASP.NET Core's WebApplicationBuilder, which this project does not reference.</summary>
    public sealed record AppBuilder(IServiceCollection Services);

    public static async Task<MultiLabelPrediction> Register(AppBuilder builder, MultiLabelScoringService scoring, byte[] imageBytes, CancellationToken cancellationToken)
    {
        builder.Services.AddMultiLabelScoring(new MultiLabelScoringOptions
        {
            ModelPath = "model.onnx",          // or the model.zip that mlContext.Model.Save wrote
            MaxBatchSize = 16,
            MaxDelay = TimeSpan.FromMilliseconds(2),
            ReloadOnChange = true,
        });
        // ... in a handler:
        MultiLabelPrediction p = await scoring.ScoreAsync(imageBytes, "upload.png", cancellationToken);
        return p;
    }

    public static string Triton(TResNetAslTransformer model)
    {
        string folder = model.SaveTritonRepository("triton-models", "shapes");   // or TritonRepository.Save("model.onnx", "triton-models")
        return folder;
    }
}
