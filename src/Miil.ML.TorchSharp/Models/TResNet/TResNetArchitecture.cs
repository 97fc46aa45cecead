namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// A TResNet variant: blocks per stage and width factor (planes = int(64 x width)). Variants are
/// data, not subclasses: <see cref="M"/>, <see cref="L"/>, <see cref="XL"/> are the paper's, and
/// <see cref="Custom"/> builds any other (tests use tiny ones).
/// </summary>
public sealed record TResNetArchitecture
{
    private TResNetArchitecture(string name, int[] layers, double widthFactor)
    {
        Name = name;
        Layers = layers;
        WidthFactor = widthFactor;
    }

    /// <summary>TResNet-M: layers [3, 4, 11, 3], width 1.0 (5.74 GMACs at 224 px).</summary>
    public static TResNetArchitecture M { get; } = new("M", [3, 4, 11, 3], 1.0);

    /// <summary>TResNet-L: layers [4, 5, 18, 3], width 1.2 (10.88 GMACs at 224 px).</summary>
    public static TResNetArchitecture L { get; } = new("L", [4, 5, 18, 3], 1.2);

    /// <summary>TResNet-XL: layers [4, 5, 24, 3], width 1.3 (15.17 GMACs at 224 px).</summary>
    public static TResNetArchitecture XL { get; } = new("XL", [4, 5, 24, 3], 1.3);

    /// <summary>Name of the variant ("M", "L", "XL", or "custom").</summary>
    public string Name { get; }

    /// <summary>Blocks in each of the four stages.</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>Width multiplier of the base 64 planes.</summary>
    public double WidthFactor { get; }

    /// <summary>Base planes: int(64 x width), truncated as the reference does.</summary>
    public int Planes => (int)(64 * WidthFactor);

    /// <summary>Width of the pooled features the head sees: 32 x planes.</summary>
    public int FeatureCount => Planes * 8 * Bottleneck.Expansion;

    /// <summary>Any other variant.</summary>
    /// <exception cref="ArgumentException">Not four stages, a stage without blocks, or a width that leaves no planes.</exception>
    public static TResNetArchitecture Custom(IReadOnlyList<int> layers, double widthFactor)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count != 4 || layers.Any(l => l < 1))
        {
            throw new ArgumentException($"TResNet has four stages of at least one block each; got [{string.Join(", ", layers)}].", nameof(layers));
        }
        if (!(widthFactor > 0) || (int)(64 * widthFactor) < 1 || double.IsInfinity(widthFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(widthFactor), widthFactor, "The width factor must leave at least one plane (64 x width >= 1).");
        }
        foreach (TResNetArchitecture known in new[] { M, L, XL })
        {
            if (known.Layers.SequenceEqual(layers) && known.WidthFactor == widthFactor)
            {
                return known;
            }
        }
        return new TResNetArchitecture("custom", layers.ToArray(), widthFactor);
    }

    /// <summary>The variant by name ("M", "L", "XL"; case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static TResNetArchitecture FromName(string name) => name?.ToUpperInvariant() switch
    {
        "M" => M,
        "L" => L,
        "XL" => XL,
        _ => throw new ArgumentException($"Unknown TResNet variant '{name}'; expected M, L or XL (or use Custom).", nameof(name)),
    };

    /// <inheritdoc />
    public bool Equals(TResNetArchitecture? other)
        => other is not null && Layers.SequenceEqual(other.Layers) && WidthFactor == other.WidthFactor;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Layers[0], Layers[1], Layers[2], Layers[3], WidthFactor);

    /// <inheritdoc />
    public override string ToString() => $"TResNet-{Name} (layers [{string.Join(", ", Layers)}], width {WidthFactor})";
}
