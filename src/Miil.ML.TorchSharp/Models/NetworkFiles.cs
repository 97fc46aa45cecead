using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Models;

/// <summary>Which family a checkpoint file holds, and that family's loader.</summary>
internal static class NetworkFiles
{
    /// <summary>What a file gave besides the network: the class names and the image size it records, if any.</summary>
    public sealed record Loaded(MultiLabelNetwork Network, IReadOnlyList<string>? ClassNames, int? ImageSize);

    public static MultiLabelNetwork Load(string path) => LoadWithInfo(path).Network;

    /// <summary>The network a file holds, told by its keys: TResNet's (MIIL or timm layout, ours) or ResNet's (torchvision, timm, ours).</summary>
    /// <exception cref="CheckpointFormatException">Neither family, or a file that cannot be read.</exception>
    public static Loaded LoadWithInfo(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (MLNetResNet18.IsOnnx(path))
        {
            throw new CheckpointFormatException(path, "is an ONNX network without a classifier (ML.NET's ResNet18 is a feature extractor): load it into a network made for your classes, "
                + "new ResNet(ResNetArchitecture.MLNetResNet18, classCount).LoadWeights(path), or name it as the trainer's PretrainedWeights ('resnet18-mlnet').");
        }
        using CheckpointFile.Contents contents = CheckpointFile.Read(path);
        if (TResNetCheckpoint.DetectLayout(contents.StateDict.Keys) is not null)
        {
            (TResNet.TResNet model, TResNetCheckpointInfo info) = TResNetCheckpoint.LoadModel(path, contents);
            return new Loaded(model, info.ClassNames, info.ImageSize);
        }
        if (ResNetCheckpoint.IsResNet(contents.StateDict.Keys))
        {
            ResNet.ResNet model = ResNetCheckpoint.LoadModel(path, contents);
            return new Loaded(model, contents.ClassNames, null);
        }
        throw new CheckpointFormatException(path, "holds neither a TResNet (body.conv1.* keys) nor a ResNet (conv1.weight, layer1.0.*): no network this library builds.");
    }
}
