namespace Miil.ML.TorchSharp.Models;

/// <summary>The defaults every network family shares, spelled once.</summary>
internal static class NetworkDefaults
{
    /// <summary>The input side when none is given: ImageNet's 224, the TResNet papers' and the reference recipe's.</summary>
    public const int ImageSize = 224;
}
