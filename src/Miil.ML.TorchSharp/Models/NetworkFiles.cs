using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Models;

/// <summary>Which family a checkpoint file holds, and that family's loader.</summary>
internal static class NetworkFiles
{
    public static MultiLabelNetwork Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TResNetCheckpoint.LoadModel(path).Model;
    }
}
