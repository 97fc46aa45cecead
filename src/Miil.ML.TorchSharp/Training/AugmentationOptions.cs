namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Training-time augmentation, applied per image after the squash resize (the reference order:
/// Cutout, then RandAugment; the flip last). Each image draws its own random numbers from the seed,
/// epoch and position, so runs and resumed runs augment identically.
/// </summary>
public sealed record AugmentationOptions
{
    /// <summary>Probability of a horizontal flip. Default 0 (the reference does not flip; 0.5 is the usual choice where left/right carries no meaning).</summary>
    public double HorizontalFlipProbability { get; set; }

    /// <summary>
    /// Side of the Cutout box as a fraction of the image side, centred at a uniform random pixel,
    /// clipped at the borders and filled with one random colour, on every image; 0 turns it off.
    /// Default 0.5 (the reference's CutoutPIL).
    /// </summary>
    public double CutoutFactor { get; set; } = 0.5;

    /// <summary>RandAugment: operations drawn per image (0 turns it off). Default 2.</summary>
    public int RandAugmentOperations { get; set; } = 2;

    /// <summary>RandAugment magnitude on the usual 0-30 scale. Default 9.</summary>
    public double RandAugmentMagnitude { get; set; } = 9;

    /// <summary>No augmentation at all.</summary>
    public static AugmentationOptions None => new() { CutoutFactor = 0, RandAugmentOperations = 0 };

    internal bool IsNone => HorizontalFlipProbability == 0 && CutoutFactor == 0 && RandAugmentOperations == 0;

    internal void Validate()
    {
        if (!(HorizontalFlipProbability >= 0 && HorizontalFlipProbability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(HorizontalFlipProbability), HorizontalFlipProbability, "HorizontalFlipProbability must lie in [0, 1].");
        }
        if (!(CutoutFactor >= 0 && CutoutFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(CutoutFactor), CutoutFactor, "CutoutFactor must lie in [0, 1].");
        }
        if (RandAugmentOperations < 0 || RandAugmentOperations > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(RandAugmentOperations), RandAugmentOperations, "RandAugmentOperations must lie in [0, 10].");
        }
        if (!(RandAugmentMagnitude >= 0 && RandAugmentMagnitude <= 30))
        {
            throw new ArgumentOutOfRangeException(nameof(RandAugmentMagnitude), RandAugmentMagnitude, "RandAugmentMagnitude must lie in [0, 30].");
        }
    }
}
