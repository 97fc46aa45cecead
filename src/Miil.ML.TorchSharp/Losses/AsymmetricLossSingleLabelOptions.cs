namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// Options of the single-label (softmax) variant of ASL. Defaults are the reference
/// <c>ASLSingleLabel</c> class's: <c>gamma_pos = 0, gamma_neg = 4, eps = 0.1</c> (label smoothing),
/// mean over the batch.
/// </summary>
public sealed record AsymmetricLossSingleLabelOptions
{
    /// <summary>Focusing parameter of the target class: weight <c>(1 - p_target)^GammaPos</c>. Default 0.</summary>
    public double GammaPos { get; set; } = 0;

    /// <summary>Focusing parameter of the other classes: weight <c>p_j^GammaNeg</c>. Default 4.</summary>
    public double GammaNeg { get; set; } = 4;

    /// <summary>
    /// Label smoothing: the target distribution becomes <c>(1 - LabelSmoothing) * onehot + LabelSmoothing / C</c>.
    /// Default 0.1 (the reference's <c>eps</c>, which in this class is smoothing, not a clamp).
    /// </summary>
    public double LabelSmoothing { get; set; } = 0.1;

    /// <summary>
    /// Reduction of the per-sample losses. Default <see cref="LossReduction.Mean"/> (mean over the batch;
    /// <see cref="LossReduction.BatchMean"/> is the same here).
    /// </summary>
    public LossReduction Reduction { get; set; } = LossReduction.Mean;

    internal void Validate()
    {
        if (!(GammaPos >= 0 && double.IsFinite(GammaPos)))
        {
            throw new ArgumentOutOfRangeException(nameof(GammaPos), GammaPos, $"AsymmetricLossSingleLabelOptions.GammaPos must be a finite value >= 0; got {GammaPos}.");
        }
        if (!(GammaNeg >= 0 && double.IsFinite(GammaNeg)))
        {
            throw new ArgumentOutOfRangeException(nameof(GammaNeg), GammaNeg, $"AsymmetricLossSingleLabelOptions.GammaNeg must be a finite value >= 0; got {GammaNeg}.");
        }
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, $"AsymmetricLossSingleLabelOptions.LabelSmoothing must be in [0, 1); got {LabelSmoothing}.");
        }
        if (!Enum.IsDefined(Reduction))
        {
            throw new ArgumentOutOfRangeException(nameof(Reduction), Reduction, "Not a defined LossReduction.");
        }
    }
}
