namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// Options of the Asymmetric Loss (ASL, Ridnik et al., arXiv 2009.14119) for multi-label
/// classification. The defaults are the reference MS-COCO training recipe
/// (<c>gamma_neg = 4, gamma_pos = 0, clip = 0.05</c>, focusing weight detached, summed);
/// <see cref="ReferenceClassDefaults"/> gives the reference class's own constructor defaults.
/// </summary>
public sealed record AsymmetricLossOptions
{
    /// <summary>
    /// Focusing parameter for negatives (gamma-): the weight of a negative is <c>p_m^GammaNeg</c>,
    /// down-weighting easy negatives. Default 4 (the paper's recommendation for COCO-like imbalance).
    /// </summary>
    public double GammaNeg { get; set; } = 4;

    /// <summary>
    /// Focusing parameter for positives (gamma+): the weight of a positive is <c>(1 - p)^GammaPos</c>.
    /// Default 0 (the paper keeps positives unweighted so their gradients are not suppressed).
    /// </summary>
    public double GammaPos { get; set; } = 0;

    /// <summary>
    /// Probability margin m of the asymmetric clipping: negatives use <c>p_m = max(p - m, 0)</c>, so a
    /// negative with <c>p &lt;= m</c> contributes neither loss nor gradient. 0 turns clipping off.
    /// Default 0.05.
    /// </summary>
    public double Clip { get; set; } = 0.05;

    /// <summary>Lower clamp of probabilities inside the logarithms. Default 1e-8 (the reference's).</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>
    /// Treats the focusing weight as a constant in back-propagation (the reference
    /// <c>disable_torch_grad_focal_loss = True</c>). Default true. False lets gradients flow through the
    /// weight, as the reference <c>AsymmetricLossOptimized</c> does by default; the loss value is the same.
    /// </summary>
    public bool DetachFocalWeight { get; set; } = true;

    /// <summary>Reduction of the element losses. Default <see cref="LossReduction.Sum"/> (the reference's).</summary>
    public LossReduction Reduction { get; set; } = LossReduction.Sum;

    /// <summary>
    /// Accepts targets of -1 as "unknown" (Pascal VOC's difficult objects, partially labelled data): such
    /// elements contribute nothing to the loss or its gradient, and are left out of
    /// <see cref="LossReduction.Mean"/>'s count. Not in the reference. Default false: -1 is then an error
    /// like any target outside {0, 1}.
    /// </summary>
    public bool IgnoreLabel { get; set; }

    /// <summary>
    /// The constructor defaults of the reference <c>AsymmetricLoss</c> class
    /// (<c>gamma_neg = 4, gamma_pos = 1, clip = 0.05, eps = 1e-8</c>, weight detached, summed),
    /// which differ from its training recipe in <c>gamma_pos</c>.
    /// </summary>
    public static AsymmetricLossOptions ReferenceClassDefaults => new() { GammaPos = 1 };

    /// <summary>Binary cross-entropy (summed) expressed as ASL: no focusing, no clipping.</summary>
    public static AsymmetricLossOptions BinaryCrossEntropy => new() { GammaNeg = 0, GammaPos = 0, Clip = 0 };

    /// <summary>Focal loss without alpha (gamma = 2, summed) expressed as ASL.</summary>
    public static AsymmetricLossOptions Focal => new() { GammaNeg = 2, GammaPos = 2, Clip = 0 };

    internal void Validate()
    {
        Check(GammaNeg >= 0 && double.IsFinite(GammaNeg), nameof(GammaNeg), GammaNeg, "a finite value >= 0");
        Check(GammaPos >= 0 && double.IsFinite(GammaPos), nameof(GammaPos), GammaPos, "a finite value >= 0");
        Check(Clip >= 0 && Clip < 1, nameof(Clip), Clip, "in [0, 1)");
        Check(Eps > 0 && Eps < 1, nameof(Eps), Eps, "in (0, 1)");
        Check(Enum.IsDefined(Reduction), nameof(Reduction), Reduction, "a defined LossReduction");
    }

    private static void Check(bool ok, string name, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"AsymmetricLossOptions.{name} must be {expected}; got {value}.");
        }
    }
}
