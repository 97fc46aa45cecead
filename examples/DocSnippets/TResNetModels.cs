using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;

namespace DocSnippets;

/// <summary>docs/tresnet.md.</summary>
public static class TResNetModels
{
    public static void Checkpoints(IReadOnlyList<string> classNames, TunedThresholds tuned)
    {
        var model = new TResNet(TResNetArchitecture.M, numClasses: 80);           // reference initialisation
        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, "tresnet_m_miil_21k.pth");
        // info.Layout, info.ConvertedInPlaceAbn, info.HeadReplaced, info.SkippedKeys, info.ClassNames

        (TResNet loaded, TResNetCheckpointInfo loadedInfo) = TResNetCheckpoint.LoadModel("model.safetensors");
        TResNetCheckpoint.Save(model, "model.safetensors", classNames, imageSize: 224);

        OnnxExporter.Export(model, "model.onnx", new OnnxExportOptions
        {
            ImageSize = 224, ClassNames = classNames, Thresholds = tuned.Thresholds, IncludeLogits = false,
        });
    }
}
