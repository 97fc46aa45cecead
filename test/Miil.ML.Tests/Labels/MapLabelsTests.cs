using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Labels;

namespace Miil.ML.Tests.Labels;

[TestClass]
public sealed class MapLabelsTests
{
    private sealed class TextRow
    {
        public string Tags { get; set; } = "";
    }

    private sealed class ArrayRow
    {
        [VectorType]
        public string[] Tags { get; set; } = [];
    }

    private sealed class Mapped
    {
        [VectorType]
        public float[] Label { get; set; } = [];
    }

    private static readonly TextRow[] Rows =
    [
        new() { Tags = "cat;dog" },
        new() { Tags = " dog ; \"traffic light\" " },
        new() { Tags = "" },
        new() { Tags = "cat;cat;;" },
    ];

    [TestMethod]
    public void LearnsOrdinalClassesAndHandlesSpacesQuotesEmptiesAndDuplicates()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(Rows);
        ITransformer model = ml.MultiLabel().MapLabels("Label", "Tags").Fit(data);
        IDataView mapped = model.Transform(data);

        CollectionAssert.AreEqual(new[] { "cat", "dog", "traffic light" }, SlotNames(mapped, "Label"));
        float[][] labels = Labels(ml, mapped);
        CollectionAssert.AreEqual(new float[] { 1, 1, 0 }, labels[0]);
        CollectionAssert.AreEqual(new float[] { 0, 1, 1 }, labels[1]);
        CollectionAssert.AreEqual(new float[] { 0, 0, 0 }, labels[2], "an empty cell is a row with no positive");
        CollectionAssert.AreEqual(new float[] { 1, 0, 0 }, labels[3], "duplicates count once");
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), mapped.Schema["Label"].Type);
        Assert.IsNull(mapped.Schema.GetColumnOrNull("__MiilLabels"), "temporary columns are dropped");
    }

    [TestMethod]
    public void GivenClassesKeepTheirOrderAndUnknownLabelsFollowThePolicy()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Tags = "dog;bird" }, new TextRow { Tags = "cat" } });
        string[] classes = ["dog", "cat"];

        IDataView ignored = ml.MultiLabel().MapLabels("Label", "Tags", classes: classes, unknownLabels: UnknownLabelPolicy.Ignore).Fit(data).Transform(data);
        CollectionAssert.AreEqual(classes, SlotNames(ignored, "Label"));
        CollectionAssert.AreEqual(new float[] { 1, 0 }, Labels(ml, ignored)[0]);

        IDataView strict = ml.MultiLabel().MapLabels("Label", "Tags", classes: classes).Fit(data).Transform(data);
        // ML.NET's worker threads wrap it; the cause names the label.
        Exception e = Assert.Throws<Exception>(() => Labels(ml, strict));
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        StringAssert.Contains(e.Message, "'bird' is not in the class list");
    }

    [TestMethod]
    public void StringArrayColumnsMapToo()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(new[] { new ArrayRow { Tags = ["b", " a "] }, new ArrayRow { Tags = [] } });
        IDataView mapped = ml.MultiLabel().MapLabels("Label", "Tags").Fit(data).Transform(data);
        CollectionAssert.AreEqual(new[] { "a", "b" }, SlotNames(mapped, "Label"));
        CollectionAssert.AreEqual(new float[] { 1, 1 }, Labels(ml, mapped)[0]);
        CollectionAssert.AreEqual(new float[] { 0, 0 }, Labels(ml, mapped)[1]);
    }

    [TestMethod]
    public void RoundTripsThroughModelSaveAndLoadWithTheClassListInsideTheZip()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(Rows);
        ITransformer model = ml.MultiLabel().MapLabels("Label", "Tags").Fit(data);
        string zip = Path.Combine(Path.GetTempPath(), $"miil-maplabels-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, zip);

            // As documented: register the assembly, then load.
            var fresh = new MLContext(seed: 0);
            fresh.ComponentCatalog.RegisterAssembly(typeof(MapLabelsEstimator).Assembly);
            ITransformer loaded = fresh.Model.Load(zip, out _);
            IDataView again = loaded.Transform(fresh.Data.LoadFromEnumerable(Rows.Reverse()));
            CollectionAssert.AreEqual(new[] { "cat", "dog", "traffic light" }, SlotNames(again, "Label"), "the class list came from the zip, not the new data");
            CollectionAssert.AreEqual(Labels(ml, model.Transform(data)).Reverse().Select(l => string.Join(",", l)).ToArray(),
                Labels(fresh, again).Select(l => string.Join(",", l)).ToArray());
            Assert.AreEqual(1, Directory.GetFiles(Path.GetDirectoryName(zip)!, Path.GetFileName(zip)).Length, "no side file: just the zip");
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [TestMethod]
    public void BadInputIsNamed()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(Rows);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().MapLabels("Label", "Labels").Fit(data)).Message, "'Labels'");
        IDataView quotes = ml.Data.LoadFromEnumerable(new[] { new TextRow { Tags = "\"cat;dog" } });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MultiLabel().MapLabels("Label", "Tags").Fit(quotes));
        StringAssert.Contains(e.Message, "unbalanced");
        IDataView empty = ml.Data.LoadFromEnumerable(new[] { new TextRow { Tags = " ; " } });
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.MultiLabel().MapLabels("Label", "Tags").Fit(empty)).Message, "no label");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().MapLabels("Label", "Tags", classes: ["a", "a"])).Message, "twice");
    }

    private static string[] SlotNames(IDataView data, string column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        data.Schema[column].GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    private static float[][] Labels(MLContext ml, IDataView data)
        => ml.Data.CreateEnumerable<Mapped>(data, reuseRowObject: false).Select(r => r.Label).ToArray();
}
