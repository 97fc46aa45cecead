using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;

namespace Miil.ML.Tests.Evaluation;

/// <summary><c>mlContext.MultiLabel().Evaluate</c> over an IDataView: the same numbers as the array evaluator, class names from slot names, column errors.</summary>
[TestClass]
public sealed class EvaluateDataViewTests
{
    private static readonly string[] Names = ["cat", "dog", "traffic light"];

    private sealed class Row
    {
        [VectorType(3)]
        public float[] Label { get; set; } = [];

        [VectorType(3)]
        public float[] Score { get; set; } = [];

        [VectorType(3)]
        public bool[] PredictedLabels { get; set; } = [];

        public float Single { get; set; }
    }

    [TestMethod]
    public void SameAsTheArrayEvaluatorWithSlotNames()
    {
        var ml = new MLContext(seed: 1);
        (Row[] rows, float[] scores, float[] labels) = Rows(400, seed: 2);
        IDataView data = ml.Data.LoadFromEnumerable(rows, WithSlotNames(ml));

        MultiLabelMetrics fromView = ml.MultiLabel().Evaluate(data, threshold: 0.4f, topK: 2);
        MultiLabelMetrics fromArrays = MultiLabelEvaluator.Evaluate(scores, labels, 3, Names, 0.4f, 2);
        CollectionAssert.AreEqual(fromArrays.PerClass.ToArray(), fromView.PerClass.ToArray());
        Assert.AreEqual(fromArrays.AtThreshold, fromView.AtThreshold);
        Assert.AreEqual(fromArrays.TopK, fromView.TopK);
        Assert.AreEqual("traffic light", fromView.PerClass[2].Name);

        MultiLabelMetrics decided = ml.MultiLabel().Evaluate(data, predictedLabelsColumnName: "PredictedLabels");
        Assert.AreEqual("predicted labels", decided.AtThreshold.Rule);
    }

    [TestMethod]
    public void ColumnProblemsNameTheColumn()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = ml.Data.LoadFromEnumerable(Rows(5, seed: 3).Rows);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().Evaluate(data, labelColumnName: "Tags")).Message, "'Tags'");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().Evaluate(data, scoreColumnName: "Single")).Message, "'Single'");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().Evaluate(data, predictedLabelsColumnName: "Score")).Message, "'Score'");

        IDataView empty = ml.Data.LoadFromEnumerable(Array.Empty<Row>());
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.MultiLabel().Evaluate(empty)).Message, "no rows");

        Row[] bad = Rows(4, seed: 4).Rows;
        bad[2].Score[1] = float.NaN;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MultiLabel().Evaluate(ml.Data.LoadFromEnumerable(bad)));
        StringAssert.Contains(e.Message, "column 'Score'");
        StringAssert.Contains(e.Message, "row 2, class 1");
    }

    private static SchemaDefinition WithSlotNames(MLContext ml)
    {
        SchemaDefinition definition = SchemaDefinition.Create(typeof(Row));
        var names = new VBuffer<ReadOnlyMemory<char>>(3, Names.Select(n => n.AsMemory()).ToArray());
        definition["Label"].AddAnnotation("SlotNames", names, new VectorDataViewType(TextDataViewType.Instance, 3));
        return definition;
    }

    private static (Row[] Rows, float[] Scores, float[] Labels) Rows(int n, int seed)
    {
        var random = new Random(seed);
        var rows = new Row[n];
        for (int i = 0; i < n; i++)
        {
            float[] label = [.. Enumerable.Range(0, 3).Select(_ => random.NextDouble() < 0.3 ? 1f : random.NextDouble() < 0.05 ? -1f : 0f)];
            float[] score = [.. label.Select(y => (float)Math.Clamp(0.3 * y + random.NextDouble() * 0.7, 0, 1))];
            rows[i] = new Row { Label = label, Score = score, PredictedLabels = [.. score.Select(s => s > 0.5f)], Single = 1 };
        }
        return (rows, rows.SelectMany(r => r.Score).ToArray(), rows.SelectMany(r => r.Label).ToArray());
    }
}
