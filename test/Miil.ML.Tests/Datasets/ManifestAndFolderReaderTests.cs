using Microsoft.ML;
using Miil.ML.Datasets;

namespace Miil.ML.Tests.Datasets;

[TestClass]
public sealed class ManifestAndFolderReaderTests
{
    [TestMethod]
    public void ReadsCsvWithQuotesEmptyLabelsAndOrdinalClasses()
    {
        using var f = new DatasetFixture();
        f.Image("img/a.png");
        f.Image("img/b c.png");
        f.Image("img/d.png");
        string csv = f.Write("train.csv", "ImagePath,Labels\nimg/a.png,dog;cat\n\"img/b c.png\",\"cat ; bird\"\nimg/d.png,\n");
        IDataView data = f.Context.MultiLabel().LoadManifest(csv);
        CollectionAssert.AreEqual(new[] { "bird", "cat", "dog" }, DatasetFixture.ClassNames(data).ToArray());
        var rows = DatasetFixture.Rows(data);
        Assert.HasCount(3, rows);
        Assert.AreEqual(Path.Combine(f.Root, "img", "b c.png"), rows[1].Path);
        CollectionAssert.AreEqual(new float[] { 0, 1, 1 }, rows[0].Label);
        CollectionAssert.AreEqual(new float[] { 1, 1, 0 }, rows[1].Label);
        CollectionAssert.AreEqual(new float[] { 0, 0, 0 }, rows[2].Label);
    }

    [TestMethod]
    public void ReadsTsvByExtensionAndAGivenClassList()
    {
        using var f = new DatasetFixture();
        f.Image("a.png");
        string tsv = f.Write("set.tsv", "a.png\tdog|cat\n");
        IDataView data = f.Context.MultiLabel().LoadManifest(tsv, new ManifestOptions { HasHeader = false, LabelSeparator = '|', Classes = ["cat", "dog", "fox"] });
        CollectionAssert.AreEqual(new float[] { 1, 1, 0 }, DatasetFixture.Rows(data)[0].Label);
    }

    [TestMethod]
    public void AManifestWithoutItsLabelsColumnNamesTheFileAndTheColumnsFound()
    {
        using var f = new DatasetFixture();
        f.Image("a.png");
        f.Image("b.png");
        MultiLabelCatalog ml = f.Context.MultiLabel();
        string pathsOnly = f.Write("paths.csv", "ImagePath\na.png\nb.png\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(pathsOnly));
        StringAssert.Contains(e.Message, pathsOnly);
        StringAssert.Contains(e.Message, "no labels column");
        StringAssert.Contains(e.Message, "'ImagePath'");

        string named = f.Write("named.csv", "id,file,tags\n1,a.png,cat\n");
        var missing = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(named, new ManifestOptions { ImagePathColumn = "file", LabelsColumn = "Labels" }));
        StringAssert.Contains(missing.Message, "'Labels'");
        StringAssert.Contains(missing.Message, "'id', 'file', 'tags'");

        string headerless = f.Write("bare.csv", "a.png\nb.png\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(headerless, new ManifestOptions { HasHeader = false })).Message, "no labels");
    }

    [TestMethod]
    public void ColumnsArePickedByHeaderName()
    {
        using var f = new DatasetFixture();
        f.Image("a.png");
        string csv = f.Write("wide.csv", "id,Tags,File,source\n7,dog;cat,a.png,web\n");
        IDataView data = f.Context.MultiLabel().LoadManifest(csv, new ManifestOptions { ImagePathColumn = "file", LabelsColumn = "tags" });
        CollectionAssert.AreEqual(new[] { "cat", "dog" }, DatasetFixture.ClassNames(data).ToArray());
        Assert.AreEqual(Path.Combine(f.Root, "a.png"), DatasetFixture.Rows(data)[0].Path);
    }

    [TestMethod]
    public void BadManifestsNameTheLine()
    {
        using var f = new DatasetFixture();
        f.Image("a.png");
        MultiLabelCatalog ml = f.Context.MultiLabel();
        Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadManifest(Path.Combine(f.Root, "none.csv")));

        string missing = f.Write("m.csv", "p,l\na.png,dog\nb.png,cat\n");
        var image = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadManifest(missing));
        StringAssert.Contains(image.Message, "b.png");
        StringAssert.Contains(image.Message, "line 3");

        string unknown = f.Write("u.csv", "p,l\na.png,dog\na.png,cow\n");
        var label = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(unknown, new ManifestOptions { Classes = ["dog"] }));
        StringAssert.Contains(label.Message, "Line 3");
        StringAssert.Contains(label.Message, "'cow'");

        string extra = f.Write("x.csv", "p,l\na.png,dog,extra\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(extra)).Message, "Line 2");

        string quote = f.Write("q.csv", "p,l\n\"a.png,dog\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadManifest(quote)).Message, "unclosed quote");
    }

    [TestMethod]
    public void FolderConventionJoinsSameNamedFilesIntoOneMultiLabelImage()
    {
        using var f = new DatasetFixture();
        f.Image("set/dog/1.png", 10);
        f.Image("set/cat/1.png", 10);
        f.Image("set/cat/2.jpg", 12);
        f.Image("set/cat/notes.txt", 3);
        IDataView data = f.Context.MultiLabel().LoadImageFolders(Path.Combine(f.Root, "set"));
        CollectionAssert.AreEqual(new[] { "cat", "dog" }, DatasetFixture.ClassNames(data).ToArray());
        var rows = DatasetFixture.Rows(data);
        Assert.HasCount(2, rows);
        CollectionAssert.AreEqual(new float[] { 1, 1 }, rows[0].Label);
        CollectionAssert.AreEqual(new float[] { 1, 0 }, rows[1].Label);

        f.Image("set/dog/2.jpg", 99);
        var clash = Assert.ThrowsExactly<InvalidDataException>(() => f.Context.MultiLabel().LoadImageFolders(Path.Combine(f.Root, "set")));
        StringAssert.Contains(clash.Message, "2.jpg");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => f.Context.MultiLabel().LoadImageFolders(Path.Combine(f.Root, "nothing")));
    }

    [TestMethod]
    public void LoadedDataMeetsTheEvaluatorContract()
    {
        // The readers' output is what Evaluate and the trainer read: Label with slot names, -1 allowed.
        using var f = new DatasetFixture();
        f.Image("a.png");
        f.Image("b.png");
        string csv = f.Write("t.csv", "p,l\na.png,dog\nb.png,cat\n");
        IDataView data = f.Context.MultiLabel().LoadManifest(csv);
        IDataView scored = f.Context.Transforms.CopyColumns("Score", "Label").Fit(data).Transform(data);
        var m = f.Context.MultiLabel().Evaluate(scored);
        Assert.AreEqual(1.0, m.MeanAveragePrecision, 1e-7,  /* the reference formula adds 1e-8 to precision denominators */ string.Join(";", m.PerClass.Select(c => $"{c.Name} {c.AveragePrecision} {c.Positives}")));
    }
}
