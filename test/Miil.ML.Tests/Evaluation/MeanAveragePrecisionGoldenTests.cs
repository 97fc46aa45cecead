using System.Text.Json;
using Miil.ML.Evaluation;
using Miil.ML.Testing;

namespace Miil.ML.Tests.Evaluation;

/// <summary>
/// mAP and per-class AP against map.json, every case: the reference definition against the repository
/// formula with ties in lower-index-first order (and the official numbers where no score ties), the
/// tie-aware definition against scikit-learn; 1e-9 each.
/// </summary>
[TestClass]
public sealed class MeanAveragePrecisionGoldenTests
{
    private const double Tolerance = 1e-9;

    private static readonly Lazy<JsonDocument> Data = new(() => Golden.Json("map.json"));

    public static IEnumerable<object[]> Cases()
        => Data.Value.RootElement.GetProperty("cases").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ReferenceDefinitionMatchesTheRepositoryFormula(string name)
    {
        JsonElement c = Case(name);
        MultiLabelMetrics m = Evaluate(c);
        double[] expected = Golden.Array(c.GetProperty("repo_formula_per_class_ap_ties_lower_index_first")).Values;
        AssertClose(expected, m.PerClass.Select(p => p.AveragePrecision).ToArray(), name + " per-class AP");
        Assert.AreEqual(c.GetProperty("repo_formula_map_ties_lower_index_first").GetDouble() / 100, m.MeanAveragePrecision, Tolerance, name + " mAP");
        if (!c.GetProperty("has_tied_scores").GetBoolean())
        {
            AssertClose(Golden.Array(c.GetProperty("official_per_class_ap")).Values, m.PerClass.Select(p => p.AveragePrecision).ToArray(), name + " official per-class AP");
            Assert.AreEqual(c.GetProperty("official_map").GetDouble() / 100, m.MeanAveragePrecision, Tolerance, name + " official mAP");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void TieAwareDefinitionMatchesScikitLearn(string name)
    {
        JsonElement c = Case(name);
        MultiLabelMetrics m = Evaluate(c);
        // scikit-learn returns -0.0 for a class without positives; both count it as 0.
        double[] expected = Golden.Array(c.GetProperty("sklearn_per_class_ap")).Values.Select(v => v == 0 ? 0 : v).ToArray();
        AssertClose(expected, m.PerClass.Select(p => p.AveragePrecisionTieAware).ToArray(), name + " sklearn per-class AP");
        Assert.AreEqual(c.GetProperty("sklearn_macro_ap").GetDouble(), m.MeanAveragePrecisionTieAware, Tolerance, name + " sklearn macro AP");
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ClassesWithoutPositivesAreFlagged(string name)
    {
        JsonElement c = Case(name);
        MultiLabelMetrics m = Evaluate(c);
        int[] expected = c.GetProperty("classes_without_positives").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        CollectionAssert.AreEqual(expected, m.PerClass.Where(p => !p.HasPositives).Select(p => p.Index).ToArray());
        CollectionAssert.AreEqual(expected.Select(i => $"class_{i}").ToArray(), m.ClassesWithoutPositives.ToArray());
        Assert.IsTrue(m.PerClass.Where(p => !p.HasPositives).All(p => p.AveragePrecision == 0 && p.AveragePrecisionTieAware == 0));
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void IgnoredLabelsLeaveTheRanking(string name)
    {
        // Marking samples -1 must give the same AP as removing them.
        JsonElement c = Case(name);
        (double[] scores, long[] shape) = Golden.Array(c.GetProperty("scores"));
        double[] labels = Golden.Array(c.GetProperty("targets")).Values;
        int n = (int)shape[0], k = (int)shape[1];
        var keep = Enumerable.Range(0, n).Where(i => i % 3 != 1).ToArray();
        float[] marked = labels.Select((y, at) => (at / k) % 3 == 1 ? -1f : (float)y).ToArray();
        MultiLabelMetrics withIgnored = MultiLabelEvaluator.Evaluate(scores.Select(v => (float)v).ToArray(), marked, k);
        float[] keptScores = keep.SelectMany(i => scores.Skip(i * k).Take(k)).Select(v => (float)v).ToArray();
        float[] keptLabels = keep.SelectMany(i => labels.Skip(i * k).Take(k)).Select(v => (float)v).ToArray();
        MultiLabelMetrics removed = MultiLabelEvaluator.Evaluate(keptScores, keptLabels, k);
        AssertClose(removed.PerClass.Select(p => p.AveragePrecision).ToArray(), withIgnored.PerClass.Select(p => p.AveragePrecision).ToArray(), name);
        AssertClose(removed.PerClass.Select(p => p.AveragePrecisionTieAware).ToArray(), withIgnored.PerClass.Select(p => p.AveragePrecisionTieAware).ToArray(), name);
        Assert.AreEqual(removed.AtThreshold, withIgnored.AtThreshold);
        Assert.IsTrue(withIgnored.PerClass.All(p => p.Ignored == n / 3 + (n % 3 > 1 ? 1 : 0)));
    }

    private static JsonElement Case(string name)
        => Data.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static MultiLabelMetrics Evaluate(JsonElement c)
    {
        (double[] scores, long[] shape) = Golden.Array(c.GetProperty("scores"));
        double[] labels = Golden.Array(c.GetProperty("targets")).Values;
        return MultiLabelEvaluator.Evaluate(scores.Select(v => (float)v).ToArray(), labels.Select(v => (float)v).ToArray(), (int)shape[1]);
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], actual[i], Tolerance, $"{what}[{i}]");
        }
    }
}
