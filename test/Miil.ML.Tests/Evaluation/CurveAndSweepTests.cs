using Miil.ML.Evaluation;

namespace Miil.ML.Tests.Evaluation;

[TestClass]
public sealed class CurveAndSweepTests
{
    [TestMethod]
    public void SweepAgreesWithEvaluatingAtEachThreshold()
    {
        var random = new Random(5);
        float[] labels = Enumerable.Range(0, 800 * 6).Select(_ => random.NextDouble() < 0.2 ? 1f : random.NextDouble() < 0.03 ? -1f : 0f).ToArray();
        float[] scores = labels.Select(y => (float)Math.Round(Math.Clamp(0.3 * y + random.NextDouble() * 0.7, 0, 1), 2)).ToArray();
        MultiLabelMetrics m = MultiLabelEvaluator.Evaluate(scores, labels, 6);
        Assert.HasCount(19, m.ThresholdSweep);
        foreach (DecisionMetrics point in m.ThresholdSweep)
        {
            DecisionMetrics direct = MultiLabelEvaluator.Evaluate(scores, labels, 6, threshold: point.Threshold!.Value).AtThreshold;
            Assert.AreEqual(direct, point, $"threshold {point.Threshold}");
            // Counted here element by element, independently of the evaluator's ranking.
            float t = point.Threshold!.Value;
            long tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < scores.Length; i++)
            {
                bool predicted = scores[i] > t;
                tp += labels[i] == 1 && predicted ? 1 : 0;
                fp += labels[i] == 0 && predicted ? 1 : 0;
                fn += labels[i] == 1 && !predicted ? 1 : 0;
            }
            Assert.AreEqual((tp, fp, fn), (point.TruePositives, point.FalsePositives, point.FalseNegatives), $"counts at {t}");
            double op = (double)tp / (tp + fp), or = (double)tp / (tp + fn);
            Assert.AreEqual(2 * op * or / (op + or), point.OF1, 1e-12, $"OF1 at {t}");
        }
    }

    [TestMethod]
    public void CurveRunsFromTheTopScoreToFullRecall()
    {
        // One class: scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.2 (neg).
        MultiLabelMetrics m = MultiLabelEvaluator.Evaluate([0.9f, 0.8f, 0.7f, 0.2f], [1, 0, 1, 0], 1);
        PrecisionRecallPoint[] curve = m.PerClass[0].PrecisionRecallCurve.ToArray();
        CollectionAssert.AreEqual(new[]
        {
            new PrecisionRecallPoint(0.9f, 0.5, 1.0),
            new PrecisionRecallPoint(0.8f, 0.5, 0.5),
            new PrecisionRecallPoint(0.7f, 1.0, 2.0 / 3),
            new PrecisionRecallPoint(0.2f, 1.0, 0.5),
        }, curve);
        Assert.IsEmpty(MultiLabelEvaluator.Evaluate([0.3f, 0.4f], [0, 0], 1).PerClass[0].PrecisionRecallCurve, "no positives, no curve");
    }
}
