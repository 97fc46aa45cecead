namespace Miil.ML.Datasets;

/// <summary>Options of the built-in synthetic multi-label image set (<see cref="SyntheticShapes"/>).</summary>
public sealed record SyntheticShapesOptions
{
    /// <summary>Number of images. Default 1000.</summary>
    public int Count { get; set; } = 1000;

    /// <summary>Square image side in pixels (at least 16). Default 64.</summary>
    public int ImageSize { get; set; } = 64;

    /// <summary>Number of classes, at most <see cref="SyntheticShapes.MaxClasses"/> (shape x colour pairs). Default 12.</summary>
    public int ClassCount { get; set; } = 12;

    /// <summary>Fewest objects per image. Default 1.</summary>
    public int MinObjects { get; set; } = 1;

    /// <summary>Most objects per image. Default 5.</summary>
    public int MaxObjects { get; set; } = 5;

    /// <summary>
    /// Skew of class frequencies: class k is drawn with weight 1 / (k + 1)^Skew, so that, as in COCO,
    /// a few classes are common and most are rare. 0 gives uniform classes. Default 1.
    /// </summary>
    public double Skew { get; set; } = 1.0;

    /// <summary>Standard deviation of the per-pixel Gaussian noise, in 0-255 units. Default 8.</summary>
    public double Noise { get; set; } = 8;

    /// <summary>Random strokes of background clutter per image. Default 4.</summary>
    public int Clutter { get; set; } = 4;

    /// <summary>Seed: the same options and seed give the same images, byte for byte. Default 0.</summary>
    public int Seed { get; set; }

    internal void Validate()
    {
        Check(Count >= 1, nameof(Count), Count, ">= 1");
        Check(ImageSize >= 16, nameof(ImageSize), ImageSize, ">= 16");
        Check(ClassCount is >= 1 and <= SyntheticShapes.MaxClasses, nameof(ClassCount), ClassCount, $"in [1, {SyntheticShapes.MaxClasses}]");
        Check(MinObjects >= 1 && MaxObjects >= MinObjects, nameof(MaxObjects), MaxObjects, $">= MinObjects ({MinObjects}) >= 1");
        Check(Skew >= 0 && double.IsFinite(Skew), nameof(Skew), Skew, ">= 0");
        Check(Noise >= 0 && double.IsFinite(Noise), nameof(Noise), Noise, ">= 0");
        Check(Clutter >= 0, nameof(Clutter), Clutter, ">= 0");
    }

    private static void Check(bool ok, string name, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"SyntheticShapesOptions.{name} must be {expected}; got {value}.");
        }
    }
}
