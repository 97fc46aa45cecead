using Microsoft.ML;
using Miil.ML.Evaluation;

namespace Miil.ML.Tests.Evaluation;

[TestClass]
public sealed class ThresholdTuningTests
{
    // Two classes, 4 samples. Class 0 ranks: 0.9 pos, 0.8 neg, 0.7 pos, 0.2 neg.
    // Class 1: every positive below every negative.
    private static readonly float[] Scores = [0.9f, 0.1f, 0.8f, 0.9f, 0.7f, 0.2f, 0.2f, 0.8f];
    private static readonly float[] Labels = [1, 1, 0, 0, 1, 1, 0, 0];

    [TestMethod]
    public void PerClassF1PicksTheBestCutByHand()
    {
        TunedThresholds tuned = ThresholdTuner.Tune(Scores, Labels, 2, ["a", "b"]);
        // Class 0 cuts: >=0.9 F1 2/3, >=0.8 1/2, >=0.7 4/5, >=0.2 2/3: best >= 0.7, threshold between 0.7 and 0.2.
        Assert.AreEqual(0.45f, tuned.Thresholds[0], 1e-6f);
        Assert.AreEqual(0.8, tuned.Metrics.PerClass[0].F1, 1e-12);
        Assert.AreEqual("predicted labels", tuned.Metrics.AtThreshold.Rule);
        CollectionAssert.AreEqual(new[] { "a", "b" }, tuned.ClassNames.ToArray());
        Assert.IsEmpty(tuned.TargetNotReached);
    }

    [TestMethod]
    public void TargetPrecisionTakesTheHighestRecallThatReachesIt()
    {
        TunedThresholds tuned = ThresholdTuner.Tune(Scores, Labels, 2, options: new ThresholdOptions { Selection = ThresholdSelection.TunedPerClass, Objective = ThresholdObjective.TargetPrecision, TargetPrecision = 1.0 });
        Assert.AreEqual(0.85f, tuned.Thresholds[0], 1e-6f, "only the 0.9 positive keeps precision 1");
        Assert.AreEqual(1.0, tuned.Metrics.PerClass[0].Precision);
        CollectionAssert.AreEqual(new[] { "class_1" }, tuned.TargetNotReached.ToArray());
        Assert.AreEqual(0.9f, tuned.Thresholds[1], "unreachable: the class predicts nothing");
        Assert.AreEqual(0, tuned.Metrics.PerClass[1].Recall);
    }

    [TestMethod]
    public void GlobalThresholdIsOneForAllClasses()
    {
        TunedThresholds tuned = ThresholdTuner.Tune(Scores, Labels, 2, options: new ThresholdOptions { Selection = ThresholdSelection.TunedGlobal });
        Assert.AreEqual(tuned.Thresholds[0], tuned.Thresholds[1]);
        // Pooled: no single cut beats the OF1 it reports.
        foreach (float t in Scores.Distinct())
        {
            Bounds.AtMost(tuned.Metrics.AtThreshold.OF1 + 1e-12, MultiLabelEvaluator.Evaluate(Scores, Labels, 2, threshold: t).AtThreshold.OF1);
        }
    }

    [TestMethod]
    public void TunedPerClassF1IsNeverWorseThanAFixedThreshold()
    {
        var random = new Random(11);
        float[] labels = Enumerable.Range(0, 500 * 12).Select(_ => random.NextDouble() < 0.15 ? 1f : random.NextDouble() < 0.02 ? -1f : 0f).ToArray();
        float[] scores = labels.Select(y => (float)Math.Clamp(0.25 * y + random.NextDouble() * 0.75, 0, 1)).ToArray();
        TunedThresholds tuned = ThresholdTuner.Tune(scores, labels, 12);
        foreach (float fixedThreshold in new[] { 0.3f, 0.5f, 0.7f })
        {
            MultiLabelMetrics at = MultiLabelEvaluator.Evaluate(scores, labels, 12, threshold: fixedThreshold);
            for (int c = 0; c < 12; c++)
            {
                Assert.IsGreaterThanOrEqualTo(at.PerClass[c].F1 - 1e-12, tuned.Metrics.PerClass[c].F1, $"class {c} vs {fixedThreshold}");
            }
        }
    }

    [TestMethod]
    public void WorksOverAnIDataView()
    {
        var ml = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, 4).Select(i => new Row { Label = [Labels[2 * i], Labels[2 * i + 1]], Score = [Scores[2 * i], Scores[2 * i + 1]] }).ToArray();
        TunedThresholds tuned = ml.MultiLabel().TuneThresholds(ml.Data.LoadFromEnumerable(rows));
        Assert.AreEqual(0.45f, tuned.Thresholds[0], 1e-6f);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ThresholdTuner.Tune(Scores, Labels, 2, options: new ThresholdOptions { Selection = ThresholdSelection.TunedPerClass, Objective = ThresholdObjective.TargetPrecision, TargetPrecision = 1.5 }));
        float[] nan = (float[])Scores.Clone();
        nan[5] = float.NaN;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ThresholdTuner.Tune(nan, Labels, 2)).Message, "row 2, class 1 is NaN");
        Assert.ThrowsExactly<ArgumentException>(() => ThresholdTuner.Tune(Scores, Labels, 2, ["only one"]));
    }

    private sealed class Row
    {
        [Microsoft.ML.Data.VectorType(2)]
        public float[] Label { get; set; } = [];

        [Microsoft.ML.Data.VectorType(2)]
        public float[] Score { get; set; } = [];
    }
}
