using Miil.ML.Evaluation;

namespace Miil.ML.Tests.Evaluation;

/// <summary>Threshold and top-k metrics on a case small enough to check by hand, and input errors.</summary>
[TestClass]
public sealed class DecisionMetricsTests
{
    // 3 samples x 3 classes.
    private static readonly float[] Scores = [0.9f, 0.6f, 0.1f, 0.4f, 0.8f, 0.7f, 0.2f, 0.3f, 0.55f];
    private static readonly float[] Labels = [1, 0, 0, 1, 1, 0, 0, 0, 1];

    [TestMethod]
    public void ThresholdMetricsByHand()
    {
        // At 0.5: class 0 TP 1 FN 1; class 1 TP 1 FP 1; class 2 TP 1 FP 1.
        DecisionMetrics d = MultiLabelEvaluator.Evaluate(Scores, Labels, 3, threshold: 0.5f).AtThreshold;
        Assert.AreEqual(2.0 / 3, d.CP, 1e-12);
        Assert.AreEqual(5.0 / 6, d.CR, 1e-12);
        Assert.AreEqual(20.0 / 27, d.CF1, 1e-12);
        Assert.AreEqual(2.0 / 3, d.MeanClassF1, 1e-12);
        Assert.AreEqual(0.6, d.OP, 1e-12);
        Assert.AreEqual(0.75, d.OR, 1e-12);
        Assert.AreEqual(2 * 0.6 * 0.75 / 1.35, d.OF1, 1e-12);
        Assert.AreEqual((3L, 2L, 1L), (d.TruePositives, d.FalsePositives, d.FalseNegatives));
    }

    [TestMethod]
    public void TopKMetricsByHand()
    {
        DecisionMetrics d = MultiLabelEvaluator.Evaluate(Scores, Labels, 3, topK: 1).TopK;
        Assert.AreEqual("top-1", d.Rule);
        Assert.AreEqual(1.0, d.CP, 1e-12);
        Assert.AreEqual(5.0 / 6, d.CR, 1e-12);
        Assert.AreEqual(1.0, d.OP, 1e-12);
        Assert.AreEqual(0.75, d.OR, 1e-12);

        // Ties in a row go to the lower class index.
        DecisionMetrics tied = MultiLabelEvaluator.Evaluate([0.5f, 0.5f, 0.5f], [0, 1, 0], 3, topK: 1).TopK;
        Assert.AreEqual((0L, 1L, 1L), (tied.TruePositives, tied.FalsePositives, tied.FalseNegatives));
    }

    [TestMethod]
    public void PredictedLabelsReplaceTheThreshold()
    {
        bool[] predicted = [true, false, false, false, false, false, false, false, true];
        MultiLabelMetrics m = MultiLabelEvaluator.Evaluate(Scores, Labels, 3, predictedLabels: predicted);
        Assert.AreEqual("predicted labels", m.AtThreshold.Rule);
        Assert.IsTrue(float.IsNaN(m.Threshold));
        Assert.AreEqual((2L, 0L, 2L), (m.AtThreshold.TruePositives, m.AtThreshold.FalsePositives, m.AtThreshold.FalseNegatives));
    }

    [TestMethod]
    public void CardinalityDensityAndWeightedMap()
    {
        MultiLabelMetrics m = MultiLabelEvaluator.Evaluate(Scores, Labels, 3, ["cat", "dog", "traffic light"]);
        Assert.AreEqual(4.0 / 3, m.LabelCardinality, 1e-12);
        Assert.AreEqual(4.0 / 9, m.LabelDensity, 1e-12);
        Assert.AreEqual("traffic light", m.PerClass[2].Name);
        double weighted = m.PerClass.Sum(c => c.AveragePrecision * c.Positives) / 4;
        Assert.AreEqual(weighted, m.PositiveWeightedMeanAveragePrecision, 1e-12);
        Assert.AreNotEqual(m.MeanAveragePrecision, m.PositiveWeightedMeanAveragePrecision);
        Assert.IsTrue(m.PerClass.All(c => c.AveragePrecision is >= 0 and <= 1));
    }

    [TestMethod]
    public void BadInputsNameTheRowAndClass()
    {
        float[] nan = (float[])Scores.Clone();
        nan[5] = float.NaN;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate(nan, Labels, 3)).Message, "row 1, class 2");
        float[] half = (float[])Labels.Clone();
        half[7] = 0.5f;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate(Scores, half, 3)).Message, "row 2, class 1 is 0.5");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate(Scores, Labels.Take(6).ToArray(), 3)).Message, "labels 6");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate(Scores, Labels, 4)).Message, "whole number of rows");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate([], [], 3)).Message, "no rows");
        Assert.ThrowsExactly<ArgumentException>(() => MultiLabelEvaluator.Evaluate(Scores, Labels, 3, ["a", "b"]));
    }

    [TestMethod]
    public void ResultDoesNotDependOnThreads()
    {
        var random = new Random(3);
        float[] scores = Enumerable.Range(0, 3000 * 40).Select(_ => (float)Math.Round(random.NextDouble(), 2)).ToArray();
        float[] labels = scores.Select(_ => random.NextDouble() < 0.1 ? 1f : 0f).ToArray();
        MultiLabelMetrics a = MultiLabelEvaluator.Evaluate(scores, labels, 40);
        MultiLabelMetrics b = MultiLabelEvaluator.Evaluate(scores, labels, 40);
        CollectionAssert.AreEqual(a.PerClass.ToArray(), b.PerClass.ToArray());
        Assert.AreEqual(a.TopK, b.TopK);
    }
}
