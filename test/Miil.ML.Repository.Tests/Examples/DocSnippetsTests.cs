using Miil.ML.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.Repository.Tests.Infrastructure;

namespace Miil.ML.Repository.Tests.Examples;

/// <summary>Runs the docs' code blocks that need no large model or external data (the others compile; see DocsCodeBlocksTests).</summary>
[TestClass]
public sealed class DocSnippetsTests
{
    [TestMethod]
    public void TheDatasetsPageLoadsEachFormat()
    {
        using var root = new ScratchDirectory();
        void Write(string relative, string text)
        {
            string path = root.File(relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        Write("coco/annotations/instances_val2017.json",
            """{"images": [{"id": 1, "file_name": "1.jpg"}], "annotations": [{"id": 9, "image_id": 1, "category_id": 3}], "categories": [{"id": 3, "name": "cat"}]}""");
        Write("coco/val2017/1.jpg", "x");
        Write("VOCdevkit/VOC2007/ImageSets/Main/test.txt", "000001\n");
        Write("VOCdevkit/VOC2007/Annotations/000001.xml", "<annotation><filename>000001.jpg</filename><object><name>dog</name><difficult>1</difficult></object></annotation>");
        Write("VOCdevkit/VOC2007/JPEGImages/000001.jpg", "x");
        Write("manifest.csv", "ImagePath,Labels\na.png,cat;dog\n");
        Write("test.csv", "ImagePath,Labels\na.png,dog\n");
        Write("a.png", "x");
        Write("by-class/cat/a.png", "x");
        Write("by-class/dog/a.png", "x");

        IDataView[] views = DocSnippets.Datasets.LoadEachFormat(root.Path);

        float[][] labels = views.Select(v => v.GetColumn<VBuffer<float>>("Label").Single().DenseValues().ToArray()).ToArray();
        CollectionAssert.AreEqual(new float[] { 1 }, labels[0], "COCO");
        Assert.AreEqual(-1f, labels[1][11], "VOC: a difficult-only dog is ignored (dog is class 11 of 20)");
        CollectionAssert.AreEqual(new float[] { 1, 1 }, labels[2], "manifest");
        CollectionAssert.AreEqual(new float[] { 1, 1 }, labels[3], "folders");
        CollectionAssert.AreEqual(new float[] { 0, 1 }, labels[4], "test split in the training label space");
    }

    [TestMethod]
    public void TheEvaluationPageGivesTheSameMetricsAtBothLevels()
    {
        var ml = new MLContext(seed: 0);
        float[] scores = [0.9f, 0.2f, 0.4f, 0.7f, 0.1f, 0.8f];
        float[] labels = [1, 0, 0, 1, 0, 1];
        var rows = Enumerable.Range(0, 3).Select(i => new Row { Score = scores[(2 * i)..(2 * i + 2)], Label = labels[(2 * i)..(2 * i + 2)] }).ToList();
        var schema = SchemaDefinition.Create(typeof(Row));
        foreach (string column in new[] { nameof(Row.Score), nameof(Row.Label) })
        {
            schema[column].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 2);
            schema[column].AddAnnotation("SlotNames", new VBuffer<ReadOnlyMemory<char>>(2, ["cat".AsMemory(), "dog".AsMemory()]), new VectorDataViewType(TextDataViewType.Instance, 2));
        }
        IDataView scored = ml.Data.LoadFromEnumerable(rows, schema);

        (MultiLabelMetrics fromView, MultiLabelMetrics fromArrays) = DocSnippets.Evaluation.BothLevels(ml, scored, scores, labels, 2, ["cat", "dog"]);

        Assert.AreEqual(fromArrays.MeanAveragePrecision, fromView.MeanAveragePrecision, 1e-12);
        Assert.AreEqual(fromArrays.AtThreshold.OF1, fromView.AtThreshold.OF1, 1e-12);
        Assert.AreEqual(1.0, fromView.MeanAveragePrecision, 1e-7);
    }

    [TestMethod]
    public void TheTroubleshootingPagesDoctorReportsEveryArea()
    {
        Miil.ML.Onnx.Diagnostics.DoctorReport report = DocSnippets.Troubleshooting.Doctor();
        CollectionAssert.IsSubsetOf(new[] { "System", "ONNX Runtime", "CUDA", "Parity" }, report.Findings.Select(f => f.Area).Distinct().ToArray());
        Assert.IsTrue(report.ParityPassed);
    }

    private sealed class Row
    {
        public float[] Score { get; set; } = [];

        public float[] Label { get; set; } = [];
    }
}
