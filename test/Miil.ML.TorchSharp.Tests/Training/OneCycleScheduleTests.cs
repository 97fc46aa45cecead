using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class OneCycleScheduleTests
{
    // PyTorch OneCycleLR(max_lr=1e-4, total_steps=100, pct_start=0.2): phase ends at steps 19 and 99.
    private readonly OneCycleSchedule _schedule = new(1e-4, 100);

    [TestMethod]
    public void StartsAtMaxOverDivFactorWithBeta1AtMaxMomentum()
    {
        (double lr, double beta1) = _schedule.At(0);
        Assert.AreEqual(4e-6, lr, 1e-18);
        Assert.AreEqual(0.95, beta1, 1e-15);
    }

    [TestMethod]
    public void PeaksAtTheEndOfWarmupWithBeta1AtBaseMomentum()
    {
        (double lr, double beta1) = _schedule.At(19);
        Assert.AreEqual(1e-4, lr, 1e-18);
        Assert.AreEqual(0.85, beta1, 1e-15);
    }

    [TestMethod]
    public void EndsAtInitialOverFinalDivFactor()
    {
        (double lr, double beta1) = _schedule.At(99);
        Assert.AreEqual(4e-6 / 1e4, lr, 1e-20);
        Assert.AreEqual(0.95, beta1, 1e-15);
    }

    [TestMethod]
    public void FollowsTheCosineBetweenPhaseEnds()
    {
        // Step 59 of the annealing phase (19..99): pct = 40 / 80 = 0.5, so the midpoint of max and min.
        (double lr, double beta1) = _schedule.At(59);
        Assert.AreEqual((1e-4 + 4e-10) / 2, lr, 1e-18);
        Assert.AreEqual(0.9, beta1, 1e-15);
        // Step 5 of the warm-up: pct = 5 / 19.
        double pct = 5 / 19.0;
        double expected = 1e-4 + (4e-6 - 1e-4) / 2 * (Math.Cos(Math.PI * pct) + 1);
        Assert.AreEqual(expected, _schedule.At(5).LearningRate, 1e-18);
    }

    [TestMethod]
    public void RefusesStepsOutsideTheSchedule()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _schedule.At(100));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _schedule.At(-1));
    }
}
