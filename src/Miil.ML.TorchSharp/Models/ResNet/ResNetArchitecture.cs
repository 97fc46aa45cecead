using Miil.ML.Images;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// A ResNet (He et al., 2015) as torchvision and timm build it: a 7x7 stride-2 stem and max pooling, four
/// stages of basic or bottleneck blocks (the stride on the 3x3 convolution, torchvision's "v1.5"), and a
/// head on the last stage's features. Variants are data: <see cref="ResNet18"/>, <see cref="ResNet34"/>,
/// <see cref="ResNet50"/>, <see cref="MLNetResNet18"/> (the ImageNet ResNet18 ML.NET ships), and
/// <see cref="Custom"/>.
/// </summary>
public sealed record ResNetArchitecture : NetworkArchitecture
{
    private ResNetArchitecture(string name, int[] layers, bool bottleneck, int basePlanes, bool mlnet)
    {
        Name = name;
        Layers = layers;
        IsBottleneck = bottleneck;
        BasePlanes = basePlanes;
        IsMLNet = mlnet;
    }

    /// <summary>ResNet-18: basic blocks, layers [2, 2, 2, 2] (torchvision's and timm's <c>resnet18</c>).</summary>
    public static ResNetArchitecture ResNet18 { get; } = new("18", [2, 2, 2, 2], bottleneck: false, 64, mlnet: false);

    /// <summary>ResNet-34: basic blocks, layers [3, 4, 6, 3].</summary>
    public static ResNetArchitecture ResNet34 { get; } = new("34", [3, 4, 6, 3], bottleneck: false, 64, mlnet: false);

    /// <summary>ResNet-50: bottleneck blocks, layers [3, 4, 6, 3].</summary>
    public static ResNetArchitecture ResNet50 { get; } = new("50", [3, 4, 6, 3], bottleneck: true, 64, mlnet: false);

    /// <summary>
    /// The ImageNet "ResNet18" of ML.NET's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package: CNTK's
    /// recipe, whose last stage has three basic blocks (layers [2, 2, 2, 3]), reading BGR pixels in 0-255
    /// from which it subtracts a per-pixel mean image (part of the network here).
    /// </summary>
    public static ResNetArchitecture MLNetResNet18 { get; } = new("18 (ML.NET)", [2, 2, 2, 3], bottleneck: false, 64, mlnet: true);

    /// <summary>"18", "34", "50", "18 (ML.NET)", or "custom".</summary>
    public string Name { get; }

    /// <summary>Blocks in each of the four stages.</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>Bottleneck blocks (ResNet-50 and deeper) rather than basic ones.</summary>
    public bool IsBottleneck { get; }

    /// <summary>Width of the stem and the first stage's blocks (64 in every published ResNet).</summary>
    public int BasePlanes { get; }

    /// <summary>ML.NET's ResNet18: BGR input in 0-255 with the mean image subtracted inside the network.</summary>
    public bool IsMLNet { get; }

    /// <summary>Channels a block's output has per plane: 1 for basic blocks, 4 for bottleneck ones.</summary>
    internal int Expansion => IsBottleneck ? 4 : 1;

    /// <inheritdoc />
    public override string Family => "ResNet";

    /// <summary>Width of the last stage's features: 8 x planes x the block's expansion.</summary>
    public override int FeatureCount => BasePlanes * 8 * Expansion;

    internal override int InputSizeStep => 1;

    internal override MultiLabelNetwork Create(int classCount, ClassifierHead head) => new ResNet(this, classCount, head);

    /// <summary>torchvision's and timm's ImageNet mean and std on RGB in [0, 1]; ML.NET's model: BGR in 0-255 (its mean image is in the network).</summary>
    internal override ImagePreprocessing Preprocessing(int imageSize) => IsMLNet
        ? new ImagePreprocessing { ImageSize = imageSize, ChannelOrder = ColorChannelOrder.Bgr, Scale = 1f }
        : ImagePreprocessing.ImageNet(imageSize);

    /// <summary>Any other variant.</summary>
    /// <param name="layers">Blocks in each of the four stages.</param>
    /// <param name="bottleneck">Bottleneck blocks rather than basic ones.</param>
    /// <param name="basePlanes">Width of the stem and the first stage (64 in every published ResNet).</param>
    /// <exception cref="ArgumentException">Not four stages, a stage without blocks, or no planes.</exception>
    public static ResNetArchitecture Custom(IReadOnlyList<int> layers, bool bottleneck = false, int basePlanes = 64)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count != 4 || layers.Any(l => l < 1))
        {
            throw new ArgumentException($"ResNet has four stages of at least one block each; got [{string.Join(", ", layers)}].", nameof(layers));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(basePlanes, 1);
        foreach (ResNetArchitecture known in new[] { ResNet18, ResNet34, ResNet50 })
        {
            if (known.Layers.SequenceEqual(layers) && known.IsBottleneck == bottleneck && known.BasePlanes == basePlanes)
            {
                return known;
            }
        }
        return new ResNetArchitecture("custom", layers.ToArray(), bottleneck, basePlanes, mlnet: false);
    }

    /// <summary>The variant by name ("18", "34", "50", "resnet50", ...; case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static new ResNetArchitecture FromName(string name) => (name ?? "").ToLowerInvariant().Replace("resnet", "", StringComparison.Ordinal).Trim('-', '_') switch
    {
        "18" => ResNet18,
        "34" => ResNet34,
        "50" => ResNet50,
        "18-mlnet" or "18 (ml.net)" => MLNetResNet18,
        _ => throw new ArgumentException($"Unknown ResNet variant '{name}'; expected 18, 34, 50 or 18-mlnet (or use Custom).", nameof(name)),
    };

    /// <inheritdoc />
    public bool Equals(ResNetArchitecture? other)
        => other is not null && Layers.SequenceEqual(other.Layers) && IsBottleneck == other.IsBottleneck && BasePlanes == other.BasePlanes && IsMLNet == other.IsMLNet;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Layers[0], Layers[1], Layers[2], Layers[3], IsBottleneck, BasePlanes, IsMLNet);

    /// <inheritdoc />
    public override string ToString()
        => $"ResNet-{Name} (layers [{string.Join(", ", Layers)}], {(IsBottleneck ? "bottleneck" : "basic")} blocks{(BasePlanes == 64 ? "" : $", {BasePlanes} base planes")})";
}
