using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// A trained TResNet-ASL (see <see cref="MultiLabelImageTransformer{TNetwork}"/>: scoring, history,
/// persistence), which can also write its network as a TResNet checkpoint.
/// </summary>
public sealed class TResNetAslTransformer : MultiLabelImageTransformer<TResNet>
{
    internal TResNetAslTransformer(TrainedModel model)
        : base(model)
    {
    }

    /// <summary>Writes the network as a checkpoint (safetensors with architecture, classes and image size), which <see cref="TResNetAslOptions.PretrainedWeights"/> accepts.</summary>
    /// <param name="path">The .safetensors file.</param>
    public void SaveCheckpoint(string path) => TResNetCheckpoint.Save(Network, path, ClassNames, ImageSize);
}
