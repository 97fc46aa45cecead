namespace Miil.ML.Evaluation;

/// <summary>What threshold tuning optimises.</summary>
public enum ThresholdObjective
{
    /// <summary>The threshold with the highest F1 (per class: that class's F1; global: OF1).</summary>
    MaximizeF1,

    /// <summary>The lowest threshold (highest recall) whose precision reaches <see cref="ThresholdOptions.TargetPrecision"/>.</summary>
    TargetPrecision,
}

/// <summary>How the thresholds of <c>PredictedLabels</c> are chosen.</summary>
public enum ThresholdSelection
{
    /// <summary>One fixed threshold for every class, <see cref="ThresholdOptions.Threshold"/>.</summary>
    Fixed,

    /// <summary>One threshold for all classes, tuned on validation data.</summary>
    TunedGlobal,

    /// <summary>One threshold per class, tuned on validation data.</summary>
    TunedPerClass,
}

/// <summary>
/// How decision thresholds are chosen: the one options type of the trainers' <c>Thresholds</c> and of
/// <c>mlContext.MultiLabel().TuneThresholds(...)</c>. Members are settable, so nested object
/// initialisers work (<c>Thresholds = { Selection = ThresholdSelection.TunedPerClass }</c>).
/// </summary>
public sealed record ThresholdOptions
{
    /// <summary>Fixed, tuned globally or tuned per class. Default <see cref="ThresholdSelection.Fixed"/> (TuneThresholds without options tunes per class).</summary>
    public ThresholdSelection Selection { get; set; } = ThresholdSelection.Fixed;

    /// <summary>The threshold (probability) of <see cref="ThresholdSelection.Fixed"/>; predicted positive when score &gt; threshold. Default 0.5.</summary>
    public float Threshold { get; set; } = DefaultThreshold;

    /// <summary>The decision threshold wherever none is chosen: 0.5, the sigmoid's even odds.</summary>
    public const float DefaultThreshold = 0.5f;

    /// <summary>What tuning optimises. Default <see cref="ThresholdObjective.MaximizeF1"/>.</summary>
    public ThresholdObjective Objective { get; set; } = ThresholdObjective.MaximizeF1;

    /// <summary>Precision to reach with <see cref="ThresholdObjective.TargetPrecision"/>, in (0, 1]. Default 0.9.</summary>
    public double TargetPrecision { get; set; } = 0.9;

    /// <summary>k of the top-k metrics reported with the thresholds. Default 3.</summary>
    public int TopK { get; set; } = 3;

    /// <summary>Whether thresholds are tuned on data (not <see cref="ThresholdSelection.Fixed"/>).</summary>
    public bool IsTuned => Selection != ThresholdSelection.Fixed;

    /// <summary>Checks the values; <paramref name="name"/> is the option's name in messages.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value outside its range.</exception>
    public void Validate(string name = nameof(ThresholdOptions))
    {
        if (!Enum.IsDefined(Selection) || !Enum.IsDefined(Objective))
        {
            throw new ArgumentOutOfRangeException(name, $"{name}: selection {Selection} or objective {Objective} is not defined.");
        }
        if (!(Threshold >= 0 && Threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(name, Threshold, $"{name}.Threshold must lie in [0, 1].");
        }
        if (Objective == ThresholdObjective.TargetPrecision && !(TargetPrecision > 0 && TargetPrecision <= 1))
        {
            throw new ArgumentOutOfRangeException(name, TargetPrecision, $"{name}.TargetPrecision must be in (0, 1].");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(TopK, 1, name + ".TopK");
    }
}
