using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using SkiaSharp;

namespace Miil.ML.Tests.Datasets;

[TestClass]
public sealed class SyntheticShapesTests
{
    private static readonly SyntheticShapesOptions Small = new() { Count = 40, ImageSize = 32, ClassCount = 8, Seed = 3 };

    [TestMethod]
    public void SameSeedSameBytesOtherSeedOtherImages()
    {
        SyntheticShapes.Image a = SyntheticShapes.Generate(Small, 7);
        SyntheticShapes.Image b = SyntheticShapes.Generate(Small, 7);
        CollectionAssert.AreEqual(a.Png, b.Png);
        CollectionAssert.AreEqual(a.Labels.ToArray(), b.Labels.ToArray());
        SyntheticShapes.Image other = SyntheticShapes.Generate(Small with { Seed = 4 }, 7);
        CollectionAssert.AreNotEqual(a.Png, other.Png);
        SyntheticShapes.Image fromSet = SyntheticShapes.GenerateAll(Small)[7];
        CollectionAssert.AreEqual(a.Png, fromSet.Png, "image i is the same alone or in the set");
    }

    [TestMethod]
    public void ImagesAreDecodableRgbOfTheRequestedSizeWithOneToFiveObjects()
    {
        IReadOnlyList<string> names = SyntheticShapes.ClassNames(Small.ClassCount);
        foreach (SyntheticShapes.Image image in SyntheticShapes.GenerateAll(Small))
        {
            using SKBitmap decoded = SKBitmap.Decode(image.Png);
            Assert.AreEqual((32, 32), (decoded.Width, decoded.Height));
            Assert.IsTrue(image.Labels.Count is >= 1 and <= 5, $"image {image.Index}: {image.Labels.Count} classes");
            CollectionAssert.IsSubsetOf(image.Labels.ToArray(), names.ToArray());
            CollectionAssert.AllItemsAreUnique(image.Labels.ToArray());
        }
    }

    [TestMethod]
    public void ClassFrequenciesAreSkewedLikeCoco()
    {
        var options = new SyntheticShapesOptions { Count = 400, ImageSize = 16, ClassCount = 12, Seed = 1, Noise = 0, Clutter = 0 };
        var counts = SyntheticShapes.GenerateAll(options).SelectMany(i => i.Labels).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        IReadOnlyList<string> names = SyntheticShapes.ClassNames(12);
        Assert.IsGreaterThan(3 * counts.GetValueOrDefault(names[11]), counts[names[0]], "the first class is several times as common as the last");
        double density = counts.Values.Sum() / (400.0 * 12);
        Bounds.Below(0.3, density, "positives are rare");
        Assert.AreEqual(12, names.Distinct().Count());
    }

    [TestMethod]
    public void WritesPngsAndAManifestThatMapLabelsReads()
    {
        string directory = Directory.CreateTempSubdirectory("miil-shapes-").FullName;
        try
        {
            string manifest = SyntheticShapes.Write(Small, directory);
            string[] lines = File.ReadAllLines(manifest);
            Assert.AreEqual("ImagePath,Labels", lines[0]);
            Assert.HasCount(Small.Count + 1, lines);
            Assert.IsTrue(lines.Skip(1).All(l => File.Exists(Path.Combine(directory, l.Split(',')[0]))));
            Assert.IsEmpty(Directory.GetFiles(directory, "*.tmp", SearchOption.AllDirectories));

            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromTextFile(manifest, [new TextLoader.Column("ImagePath", DataKind.String, 0), new TextLoader.Column("Tags", DataKind.String, 1)],
                separatorChar: ',', hasHeader: true, allowQuoting: true);
            IDataView labelled = ml.MultiLabel().MapLabels("Label", "Tags", classes: SyntheticShapes.ClassNames(Small.ClassCount)).Fit(data).Transform(data);
            float[][] vectors = ml.Data.CreateEnumerable<LabelRow>(labelled, reuseRowObject: false).Select(r => r.Label).ToArray();
            CollectionAssert.AreEqual(SyntheticShapes.GenerateAll(Small).Select(i => i.Labels.Count).ToArray(), vectors.Select(v => (int)v.Sum()).ToArray());

            IDataView images = ml.Transforms.LoadImages("Image", directory, "ImagePath").Fit(data).Transform(data);
            using DataViewRowCursor cursor = images.GetRowCursor([images.Schema["Image"]]);
            ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(images.Schema["Image"]);
            Assert.IsTrue(cursor.MoveNext());
            MLImage first = null!;
            getImage(ref first);
            Assert.AreEqual((32, 32), (first.Width, first.Height), "ML.NET ImageAnalytics reads them");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void BadOptionsAreNamed()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticShapes.Generate(Small with { ClassCount = 31 }, 0)).Message, "ClassCount");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticShapes.Generate(Small with { MaxObjects = 0 }, 0)).Message, "MaxObjects");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticShapes.Generate(Small with { ImageSize = 8 }, 0)).Message, "ImageSize");
    }

    private sealed class LabelRow
    {
        [VectorType]
        public float[] Label { get; set; } = [];
    }

    [TestMethod]
    public void TheSameSeedGivesTheSameSetInEveryProcess()
    {
        // Written down once: a generator seeded per process (HashCode.Combine is) would fail here in a new process.
        var options = new SyntheticShapesOptions { Count = 4, ClassCount = 12, Seed = 0 };
        string labels = string.Join(" | ", Enumerable.Range(0, 4).Select(i => string.Join(";", SyntheticShapes.Generate(options, i).Labels)));
        Assert.AreEqual("red circle;blue triangle;yellow triangle | green square;blue triangle | blue triangle;green circle;red ring | red star", labels);
    }
}
