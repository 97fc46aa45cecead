using Microsoft.ML;
using Miil.ML.Datasets;

namespace Miil.ML.Tests.Datasets;

[TestClass]
public sealed class VocReaderTests
{
    private static string Annotation(string file, params (string Name, int Difficult)[] objects)
        => $"<annotation>\n  <filename>{file}</filename>\n"
           + string.Concat(objects.Select(o => $"  <object>\n    <name>{o.Name}</name>\n    <difficult>{o.Difficult}</difficult>\n  </object>\n"))
           + "</annotation>\n";

    private static DatasetFixture Voc()
    {
        var f = new DatasetFixture();
        f.Write("ImageSets/Main/train.txt", "000001\n000002  \n\n000003\n");
        f.Write("Annotations/000001.xml", Annotation("000001.jpg", ("dog", 0), ("person", 1)));
        f.Write("Annotations/000002.xml", Annotation("000002.jpg", ("person", 1), ("person", 0), ("cat", 1)));
        f.Write("Annotations/000003.xml", Annotation("000003.jpg"));
        f.Image("JPEGImages/000001.jpg");
        f.Image("JPEGImages/000002.jpg");
        f.Image("JPEGImages/000003.jpg");
        return f;
    }

    [TestMethod]
    public void DifficultOnlyClassesAreIgnoredAndTheStandardClassesAreTheSlots()
    {
        using DatasetFixture f = Voc();
        IDataView data = f.Context.MultiLabel().LoadVoc(f.Root, "train");
        IReadOnlyList<string> classes = DatasetFixture.ClassNames(data);
        CollectionAssert.AreEqual(VocOptions.StandardClasses.ToArray(), classes.ToArray());
        var rows = DatasetFixture.Rows(data);
        Assert.HasCount(3, rows);
        int dog = classes.ToList().IndexOf("dog"), person = classes.ToList().IndexOf("person"), cat = classes.ToList().IndexOf("cat");
        Assert.AreEqual(1f, rows[0].Label[dog]);
        Assert.AreEqual(-1f, rows[0].Label[person], "only a difficult person: ignored");
        Assert.AreEqual(1f, rows[1].Label[person], "a non-difficult person beside a difficult one: positive");
        Assert.AreEqual(-1f, rows[1].Label[cat]);
        Assert.IsTrue(rows[2].Label.All(v => v == 0));
        Assert.AreEqual(Path.Combine(f.Root, "JPEGImages", "000002.jpg"), rows[1].Path);

        var counted = DatasetFixture.Rows(f.Context.MultiLabel().LoadVoc(f.Root, "train", new VocOptions { CountDifficult = true }));
        Assert.AreEqual(1f, counted[0].Label[person]);
        Assert.AreEqual(1f, counted[1].Label[cat]);
    }

    [TestMethod]
    public void NonStandardNamesBecomeSortedSlots()
    {
        using DatasetFixture f = Voc();
        f.Write("Annotations/000003.xml", Annotation("000003.jpg", ("zebra", 0)));
        CollectionAssert.AreEqual(new[] { "cat", "dog", "person", "zebra" }, DatasetFixture.ClassNames(f.Context.MultiLabel().LoadVoc(f.Root, "train")).ToArray());
    }

    [TestMethod]
    public void BadInputNamesFileAndLine()
    {
        using DatasetFixture f = Voc();
        MultiLabelCatalog ml = f.Context.MultiLabel();
        var set = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadVoc(f.Root, "val"));
        StringAssert.Contains(set.Message, "val.txt");

        f.Write("ImageSets/Main/more.txt", "000001\n000009\n");
        var xml = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadVoc(f.Root, "more"));
        StringAssert.Contains(xml.Message, "000009.xml");
        StringAssert.Contains(xml.Message, "line 2");

        f.Write("Annotations/000002.xml", "<annotation>\n<object><name>dog</name>\n</annotation>");
        var malformed = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadVoc(f.Root, "train"));
        StringAssert.Contains(malformed.Message, "000002.xml");
        StringAssert.Contains(malformed.Message, "line 3");

        f.Write("Annotations/000002.xml", "<annotation>\n  <object>\n    <difficult>0</difficult>\n  </object>\n</annotation>");
        var unnamed = Assert.ThrowsExactly<InvalidDataException>(() => ml.LoadVoc(f.Root, "train"));
        StringAssert.Contains(unnamed.Message, "line 2");

        f.Write("Annotations/000002.xml", Annotation("000002.jpg", ("dog", 0)));
        File.Delete(Path.Combine(f.Root, "JPEGImages", "000003.jpg"));
        var image = Assert.ThrowsExactly<FileNotFoundException>(() => ml.LoadVoc(f.Root, "train"));
        StringAssert.Contains(image.Message, "000003.jpg");
    }
}
