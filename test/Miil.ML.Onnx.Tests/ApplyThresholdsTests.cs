using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;

namespace Miil.ML.Onnx.Tests;

/// <summary>Thresholds as a stock ONNX transformer: decisions, persistence in a plain ML.NET load, errors.</summary>
[TestClass]
public sealed class ApplyThresholdsTests
{
    private sealed class Row
    {
        [VectorType(3)]
        public float[] Score { get; set; } = [];

        [VectorType(3)]
        public float[] Label { get; set; } = [];
    }

    private sealed class Decided
    {
        [VectorType(3)]
        public bool[] PredictedLabels { get; set; } = [];
    }

    private static readonly float[] Thresholds = [0.2f, 0.5f, 0.9f];

    private static Row[] Rows()
    {
        var random = new Random(1);
        return Enumerable.Range(0, 50).Select(_ => new Row
        {
            Score = [(float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble()],
            Label = [random.Next(2), random.Next(2), random.Next(2)],
        }).ToArray();
    }

    [TestMethod]
    public void DecidesPerClassAndSurvivesAStockSaveAndLoad()
    {
        var ml = new MLContext(seed: 0);
        Row[] rows = Rows();
        IDataView data = ml.Data.LoadFromEnumerable(rows);
        ITransformer model = ml.MultiLabel().ApplyThresholds(Thresholds).Fit(data);
        bool[][] decided = Decisions(ml, model.Transform(data));
        for (int i = 0; i < rows.Length; i++)
        {
            CollectionAssert.AreEqual(rows[i].Score.Select((s, c) => s > Thresholds[c]).ToArray(), decided[i], $"row {i}");
        }

        string zip = Path.Combine(Path.GetTempPath(), $"miil-thresholds-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, zip);
            var plain = new MLContext(seed: 1);   // no registration: the zip holds only stock transforms
            ITransformer loaded = plain.Model.Load(zip, out _);
            CollectionAssert.AreEqual(decided.Select(d => string.Join(",", d)).ToArray(),
                Decisions(plain, loaded.Transform(plain.Data.LoadFromEnumerable(rows))).Select(d => string.Join(",", d)).ToArray());
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [TestMethod]
    public void TunedThresholdsApplyAndAgreeWithTheirMetrics()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(Rows());
        TunedThresholds tuned = ml.MultiLabel().TuneThresholds(data);
        IDataView decided = ml.MultiLabel().ApplyThresholds(tuned).Fit(data).Transform(data);
        MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(decided, predictedLabelsColumnName: "PredictedLabels");
        Assert.AreEqual(tuned.Metrics.AtThreshold, metrics.AtThreshold);
    }

    [TestMethod]
    public void ColumnsThatDoNotFitAreNamed()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(Rows());
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().ApplyThresholds([0.5f, 0.5f]).Fit(data)).Message, "3 classes but 2 thresholds");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().ApplyThresholds(Thresholds, scoreColumnName: "Scores").Fit(data)).Message, "'Scores'");
        Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().ApplyThresholds([float.NaN]));
    }

    private static bool[][] Decisions(MLContext ml, IDataView data)
        => ml.Data.CreateEnumerable<Decided>(data, reuseRowObject: false).Select(d => d.PredictedLabels).ToArray();
}
