using Miil.ML.Images;

namespace Miil.ML.TorchSharp.Models;

/// <summary>
/// A network of a family, as data: <see cref="TResNet.TResNetArchitecture"/> (TResNet and TResNet-V2) or
/// <see cref="ResNet.ResNetArchitecture"/> (torchvision's ResNet, and ML.NET's ImageNet ResNet18). What a
/// trainer's <c>Architecture</c> option takes; a published model's name implies one.
/// </summary>
public abstract record NetworkArchitecture
{
    private protected NetworkArchitecture()
    {
    }

    /// <summary>The family's name ("TResNet", "ResNet").</summary>
    public abstract string Family { get; }

    /// <summary>Width of the features the head sees.</summary>
    public abstract int FeatureCount { get; }

    /// <summary>The input side must be a multiple of this (TResNet's space-to-depth stem: 4).</summary>
    internal abstract int InputSizeStep { get; }

    /// <summary>The family's network for <paramref name="classCount"/> classes with <paramref name="head"/>, freshly initialised as its reference does.</summary>
    internal abstract MultiLabelNetwork Create(int classCount, ClassifierHead head);

    /// <summary>How images become this network's input at <paramref name="imageSize"/> (its published weights' preprocessing).</summary>
    internal abstract ImagePreprocessing Preprocessing(int imageSize);

    /// <summary>
    /// A variant by name, in either family: TResNet's "M", "L", "XL", "V2-L"; ResNet's "resnet18",
    /// "resnet34", "resnet50", "resnet18-mlnet" (case-insensitive).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static NetworkArchitecture FromName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        try
        {
            return name.StartsWith("resnet", StringComparison.OrdinalIgnoreCase) ? ResNet.ResNetArchitecture.FromName(name) : TResNet.TResNetArchitecture.FromName(name);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"Unknown architecture '{name}': TResNet's M, L, XL, V2-L, or resnet18, resnet34, resnet50, resnet18-mlnet.", nameof(name));
        }
    }
}
