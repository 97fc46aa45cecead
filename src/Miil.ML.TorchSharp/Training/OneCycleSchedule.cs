namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// PyTorch's <c>OneCycleLR</c> (two phases, cosine annealing, momentum cycling), as the reference
/// steps it once per batch: the learning rate rises from max / <see cref="DivFactor"/> to max over
/// the first <see cref="PctStart"/> of the steps, then falls to max / (div x final div); Adam's beta1
/// moves the other way between <see cref="MaxMomentum"/> and <see cref="BaseMomentum"/>. A pure
/// function of the step, so a resumed run needs only the step count.
/// </summary>
internal sealed class OneCycleSchedule
{
    public const double PctStart = 0.2;
    public const double DivFactor = 25;
    public const double FinalDivFactor = 1e4;
    public const double BaseMomentum = 0.85;
    public const double MaxMomentum = 0.95;

    private readonly double _maxLr;
    private readonly double _warmupEnd;
    private readonly double _end;

    public OneCycleSchedule(double maxLearningRate, long totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        _maxLr = maxLearningRate;
        // PyTorch's phase ends: float(pct_start * total_steps) - 1, then total_steps - 1.
        _warmupEnd = PctStart * totalSteps - 1;
        _end = totalSteps - 1;
    }

    public double InitialLearningRate => _maxLr / DivFactor;

    public double MinimumLearningRate => InitialLearningRate / FinalDivFactor;

    /// <summary>Learning rate and beta1 for the 0-based step <paramref name="step"/> (the value PyTorch's scheduler holds before that step's optimiser update).</summary>
    public (double LearningRate, double Beta1) At(long step)
    {
        if (step < 0 || step > _end)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, $"The schedule has steps 0 to {_end}.");
        }
        if (step <= _warmupEnd)
        {
            double pct = _warmupEnd <= 0 ? 1 : step / _warmupEnd;
            return (Cosine(InitialLearningRate, _maxLr, pct), Cosine(MaxMomentum, BaseMomentum, pct));
        }
        double span = _end - _warmupEnd;
        double p = span <= 0 ? 1 : (step - _warmupEnd) / span;
        return (Cosine(_maxLr, MinimumLearningRate, p), Cosine(BaseMomentum, MaxMomentum, p));
    }

    private static double Cosine(double start, double end, double pct) => end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1);
}
