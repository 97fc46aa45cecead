using Microsoft.ML;
using Miil.ML.Datasets;

namespace Miil.ML.Tests.Datasets;

[TestClass]
public sealed class CocoReaderTests
{
    // Categories out of id order and an unused one; annotations with nested segmentation arrays,
    // crowd flags and a duplicate class on one image; an image without annotations.
    private const string Instances = """
        {
          "info": {"description": "fixture", "nested": {"deep": [1, 2, {"x": "y"}]}},
          "licenses": [],
          "images": [
            {"id": 7, "file_name": "a.jpg", "width": 4, "height": 4},
            {"id": 3, "file_name": "b.jpg", "width": 4, "height": 4},
            {"id": 9, "file_name": "c.jpg", "width": 4, "height": 4}
          ],
          "annotations": [
            {"id": 100, "image_id": 7, "category_id": 18, "segmentation": [[1.0, 2.0, 3.0]], "bbox": [0, 0, 1, 1], "iscrowd": 0},
            {"id": 101, "image_id": 7, "category_id": 1, "segmentation": {"counts": [1, 2], "size": [4, 4]}, "iscrowd": 1},
            {"id": 102, "image_id": 3, "category_id": 18},
            {"id": 103, "image_id": 3, "category_id": 18}
          ],
          "categories": [
            {"id": 18, "name": "dog", "supercategory": "animal"},
            {"id": 1, "name": "person", "supercategory": "person"},
            {"id": 5, "name": "airplane", "supercategory": "vehicle"}
          ]
        }
        """;

    [TestMethod]
    public void ReadsLabelsPerCategoryInIdOrderAndDropsUnannotatedImages()
    {
        using var f = new DatasetFixture();
        string json = f.Write("instances.json", Instances);
        f.Image("images/a.jpg");
        f.Image("images/b.jpg");
        f.Image("images/c.jpg");
        IDataView data = f.Context.MultiLabel().LoadCoco(json, Path.Combine(f.Root, "images"));

        CollectionAssert.AreEqual(new[] { "person", "airplane", "dog" }, DatasetFixture.ClassNames(data).ToArray());
        var rows = DatasetFixture.Rows(data);
        Assert.HasCount(2, rows);
        Assert.AreEqual(Path.Combine(f.Root, "images", "a.jpg"), rows[0].Path);
        CollectionAssert.AreEqual(new float[] { 1, 0, 1 }, rows[0].Label);
        CollectionAssert.AreEqual(new float[] { 0, 0, 1 }, rows[1].Label);

        IDataView all = f.Context.MultiLabel().LoadCoco(json, Path.Combine(f.Root, "images"), new CocoOptions { KeepImagesWithoutAnnotations = true });
        var allRows = DatasetFixture.Rows(all);
        Assert.HasCount(3, allRows);
        CollectionAssert.AreEqual(new float[] { 0, 0, 0 }, allRows[2].Label);
    }

    [TestMethod]
    public void ASharedClassListOrdersTheSlots()
    {
        using var f = new DatasetFixture();
        string json = f.Write("instances.json", Instances);
        IDataView data = f.Context.MultiLabel().LoadCoco(json, f.Root, new CocoOptions { Classes = ["dog", "cat", "person", "airplane"], CheckFilesExist = false });
        CollectionAssert.AreEqual(new[] { "dog", "cat", "person", "airplane" }, DatasetFixture.ClassNames(data).ToArray());
        CollectionAssert.AreEqual(new float[] { 1, 0, 1, 0 }, DatasetFixture.Rows(data)[0].Label);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => f.Context.MultiLabel().LoadCoco(json, f.Root, new CocoOptions { Classes = ["dog"], CheckFilesExist = false }));
        StringAssert.Contains(e.Message, "'person'");
    }

    [TestMethod]
    public void StreamsAFileLargerThanItsBuffer()
    {
        using var f = new DatasetFixture();
        // 3000 images with long padding strings: several buffer refills, one token near the buffer size.
        var images = string.Join(",", Enumerable.Range(1, 3000).Select(i => $$"""{"id": {{i}}, "file_name": "{{i}}.jpg", "pad": "{{new string('x', i == 1500 ? 70000 : 40)}}"}"""));
        var annotations = string.Join(",", Enumerable.Range(1, 3000).Select(i => $$"""{"id": {{i}}, "image_id": {{i}}, "category_id": {{1 + i % 2}}}"""));
        string json = f.Write("big.json", $$"""{"images": [{{images}}], "annotations": [{{annotations}}], "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}""");
        var rows = DatasetFixture.Rows(f.Context.MultiLabel().LoadCoco(json, f.Root, new CocoOptions { CheckFilesExist = false }));
        Assert.HasCount(3000, rows);
        CollectionAssert.AreEqual(new float[] { 0, 1 }, rows[0].Label);
        CollectionAssert.AreEqual(new float[] { 1, 0 }, rows[1].Label);
    }

    [TestMethod]
    public void AByteOrderMarkIsSkipped()
    {
        using var f = new DatasetFixture();
        string json = Path.Combine(f.Root, "bom.json");
        File.WriteAllText(json, """{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1}], "categories": [{"id": 1, "name": "a"}]}""",
            new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.AreEqual(0xEF, File.ReadAllBytes(json)[0]);
        Assert.HasCount(1, DatasetFixture.Rows(f.Context.MultiLabel().LoadCoco(json, f.Root, new CocoOptions { CheckFilesExist = false })));
    }

    [TestMethod]
    public void BadInputNamesFileAndLineOrId()
    {
        using var f = new DatasetFixture();
        MultiLabelCatalog ml = f.Context.MultiLabel();
        var options = new CocoOptions { CheckFilesExist = false };

        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadCoco(Path.Combine(f.Root, "none.json"), f.Root));
        StringAssert.Contains(missing.Message, "none.json");

        string broken = f.Write("broken.json", "{\n  \"images\": [\n    {\"id\": 1, \"file_name\": \"a.jpg\"}\n    {\"id\": 2}\n  ]\n}");
        var syntax = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(broken, f.Root, options));
        StringAssert.Contains(syntax.Message, "broken.json");
        StringAssert.Contains(syntax.Message, "line 4");

        string unknownCategory = f.Write("cat.json", """{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 55, "image_id": 1, "category_id": 9}], "categories": [{"id": 1, "name": "a"}]}""");
        var category = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(unknownCategory, f.Root, options));
        StringAssert.Contains(category.Message, "Annotation 55");
        StringAssert.Contains(category.Message, "category 9");

        string absentImage = f.Write("img.json", """{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 56, "image_id": 2, "category_id": 1}], "categories": [{"id": 1, "name": "a"}]}""");
        var image = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(absentImage, f.Root, options));
        StringAssert.Contains(image.Message, "Annotation 56");
        StringAssert.Contains(image.Message, "image 2");

        string good = f.Write("good.json", """{"images": [{"id": 4, "file_name": "gone.jpg"}], "annotations": [{"id": 1, "image_id": 4, "category_id": 1}], "categories": [{"id": 1, "name": "a"}]}""");
        var gone = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadCoco(good, f.Root));
        StringAssert.Contains(gone.Message, "gone.jpg");
        StringAssert.Contains(gone.Message, "image 4");

        string twice = f.Write("twice.json", """{"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}]}""");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(twice, f.Root, options)).Message, "categories 1 and 2");

        string info = f.Write("info.json", """{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "a"}]}""");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(info, f.Root, options)).Message, "no \"annotations\"");
        Assert.HasCount(1, DatasetFixture.Rows(ml.LoadCoco(info, f.Root, options with { KeepImagesWithoutAnnotations = true })));

        string notCoco = f.Write("list.json", "[1, 2, 3]");
        Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(notCoco, f.Root, options));
        string truncated = f.Write("cut.json", """{"images": [{"id": 1, "file_name": "a.jpg"}""");
        Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadCoco(truncated, f.Root, options));
    }
}
