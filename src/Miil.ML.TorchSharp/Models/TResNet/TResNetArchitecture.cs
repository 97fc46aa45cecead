namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// A TResNet variant: blocks per stage, width factor, and the block of the first two stages (basic in
/// the paper's TResNet, bottleneck in TResNet-V2). Variants are data, not subclasses: <see cref="M"/>,
/// <see cref="L"/>, <see cref="XL"/> are the paper's, <see cref="V2L"/> timm's <c>tresnet_v2_l</c>, and
/// <see cref="Custom"/> builds any other (tests use tiny ones).
/// </summary>
public sealed record TResNetArchitecture : NetworkArchitecture
{
    private TResNetArchitecture(string name, int[] layers, double widthFactor, bool v2)
    {
        Name = name;
        Layers = layers;
        WidthFactor = widthFactor;
        IsV2 = v2;
    }

    /// <summary>TResNet-M: layers [3, 4, 11, 3], width 1.0 (5.74 GMACs at 224 px).</summary>
    public static TResNetArchitecture M { get; } = new("M", [3, 4, 11, 3], 1.0, v2: false);

    /// <summary>TResNet-L: layers [4, 5, 18, 3], width 1.2 (10.88 GMACs at 224 px).</summary>
    public static TResNetArchitecture L { get; } = new("L", [4, 5, 18, 3], 1.2, v2: false);

    /// <summary>TResNet-XL: layers [4, 5, 24, 3], width 1.3 (15.17 GMACs at 224 px).</summary>
    public static TResNetArchitecture XL { get; } = new("XL", [4, 5, 24, 3], 1.3, v2: false);

    /// <summary>
    /// TResNet-V2-L (timm's <c>tresnet_v2_l</c>; ML-Decoder's "TResNet-L"): bottleneck blocks in all four
    /// stages, layers [3, 4, 23, 3], width 1.0.
    /// </summary>
    public static TResNetArchitecture V2L { get; } = new("V2-L", [3, 4, 23, 3], 1.0, v2: true);

    /// <summary>Name of the variant ("M", "L", "XL", "V2-L", or "custom").</summary>
    public string Name { get; }

    /// <summary>Whether the first two stages use bottleneck blocks too (TResNet-V2, timm's <c>v2=True</c>).</summary>
    public bool IsV2 { get; }

    /// <summary>Blocks in each of the four stages.</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>Width multiplier of the base 64 planes.</summary>
    public double WidthFactor { get; }

    /// <summary>Base planes: int(64 x width), truncated as the reference does (V2: down to a multiple of 8, as timm does).</summary>
    public int Planes => IsV2 ? (int)(64 * WidthFactor) / 8 * 8 : (int)(64 * WidthFactor);

    /// <inheritdoc />
    public override string Family => nameof(TResNet);

    /// <summary>Width of the pooled features the head sees: 32 x planes.</summary>
    public override int FeatureCount => Planes * 8 * Bottleneck.Expansion;

    internal override int InputSizeStep => TResNet.StemBlockSize;

    internal override MultiLabelNetwork Create(int classCount, ClassifierHead head) => new TResNet(this, classCount, head: head);

    /// <summary>TResNet's: RGB squashed to the side, scaled to [0, 1], no mean/std (every TResNet release's).</summary>
    internal override Miil.ML.Images.ImagePreprocessing Preprocessing(int imageSize) => Miil.ML.Images.ImagePreprocessing.Unnormalized(imageSize);

    /// <summary>Any other variant.</summary>
    /// <param name="layers">Blocks in each of the four stages.</param>
    /// <param name="widthFactor">Width multiplier of the base 64 planes.</param>
    /// <param name="v2">Bottleneck blocks in the first two stages too (TResNet-V2).</param>
    /// <exception cref="ArgumentException">Not four stages, a stage without blocks, or a width that leaves no planes.</exception>
    public static TResNetArchitecture Custom(IReadOnlyList<int> layers, double widthFactor, bool v2 = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count != 4 || layers.Any(l => l < 1))
        {
            throw new ArgumentException($"TResNet has four stages of at least one block each; got [{string.Join(", ", layers)}].", nameof(layers));
        }
        if (!(widthFactor > 0) || (v2 ? (int)(64 * widthFactor) / 8 * 8 : (int)(64 * widthFactor)) < 1 || double.IsInfinity(widthFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(widthFactor), widthFactor, v2
                ? "The width factor must leave at least 8 planes (TResNet-V2 rounds 64 x width down to a multiple of 8)."
                : "The width factor must leave at least one plane (64 x width >= 1).");
        }
        foreach (TResNetArchitecture known in new[] { M, L, XL, V2L })
        {
            if (known.Layers.SequenceEqual(layers) && known.WidthFactor == widthFactor && known.IsV2 == v2)
            {
                return known;
            }
        }
        return new TResNetArchitecture(v2 ? "V2-custom" : "custom", layers.ToArray(), widthFactor, v2);
    }

    /// <summary>The variant by name ("M", "L", "XL", "V2-L" or "V2L"; case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static new TResNetArchitecture FromName(string name) => name?.ToUpperInvariant() switch
    {
        "M" => M,
        "L" => L,
        "XL" => XL,
        "V2-L" or "V2L" => V2L,
        _ => throw new ArgumentException($"Unknown TResNet variant '{name}'; expected M, L, XL or V2-L (or use Custom).", nameof(name)),
    };

    /// <inheritdoc />
    public bool Equals(TResNetArchitecture? other)
        => other is not null && Layers.SequenceEqual(other.Layers) && WidthFactor == other.WidthFactor && IsV2 == other.IsV2;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Layers[0], Layers[1], Layers[2], Layers[3], WidthFactor, IsV2);

    /// <inheritdoc />
    public override string ToString() => $"TResNet-{Name} (layers [{string.Join(", ", Layers)}], width {WidthFactor}{(IsV2 && Name != "V2-L" ? ", bottleneck in every stage" : "")})";
}
