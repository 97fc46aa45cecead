using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;

namespace DocSnippets;

/// <summary>docs/tresnet.md.</summary>
public static class TResNetModels
{
    public static void Checkpoints(IReadOnlyList<string> classNames, TunedThresholds tuned)
    {
        var model = new TResNet(TResNetArchitecture.M, classCount: 80);           // reference initialisation
        model.LoadWeights("tresnet_m_miil_21k.pth");                              // MIIL or timm layout; a head of other classes stays new

        MultiLabelNetwork loaded = MultiLabelNetwork.Load("model.safetensors");   // the architecture comes from the file
        model.SaveCheckpoint("model.safetensors", classNames, imageSize: 224);
        model.SaveOnnx("model.onnx", imageSize: 224, classNames, tuned.Thresholds);
    }
}
