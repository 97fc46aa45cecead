using Microsoft.ML;
using Miil.ML.Cli.Data;
using Miil.ML.Datasets;

namespace Miil.ML.Cli.Tests.Data;

/// <summary>The dataset's format told from its path, and the reader's errors as a user meets them.</summary>
[TestClass]
public sealed class DatasetReaderTests
{
    [TestMethod]
    public void TheFormatIsToldFromThePath()
    {
        using var scratch = new ScratchDirectory();
        string coco = scratch.File("instances.json"), manifest = scratch.File("labels.csv");
        File.WriteAllText(coco, "{}");
        File.WriteAllText(manifest, "");
        Directory.CreateDirectory(scratch.File("voc/Annotations"));
        Directory.CreateDirectory(scratch.File("voc/ImageSets/Main"));
        Directory.CreateDirectory(scratch.File("folders/cat"));
        Directory.CreateDirectory(scratch.File("empty"));
        Assert.AreEqual(DatasetFormat.Coco, DatasetReader.Detect(coco, "--dataset"));
        Assert.AreEqual(DatasetFormat.Manifest, DatasetReader.Detect(manifest, "--dataset"));
        Assert.AreEqual(DatasetFormat.Voc, DatasetReader.Detect(scratch.File("voc"), "--dataset"));
        Assert.AreEqual(DatasetFormat.Folders, DatasetReader.Detect(scratch.File("folders"), "--dataset"));
        var e = Assert.ThrowsExactly<CliException>(() => DatasetReader.Detect(scratch.File("empty"), "--dataset"));
        StringAssert.Contains(e.Message, "neither class folders nor VOC");
        Assert.AreEqual(ExitCodes.Input, e.ExitCode);
    }

    [TestMethod]
    public void AManifestReadsWithTheNamedColumnsAndGivenClasses()
    {
        using var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 6, ClassCount = 3, ImageSize = 32, Seed = 1 }, scratch.Path);
        string[] lines = File.ReadAllLines(manifest);
        // The same rows with the columns swapped and renamed: --image-col and --label-col find them.
        File.WriteAllLines(scratch.File("swapped.csv"), lines.Select((l, i) => i == 0 ? "tags,file" : string.Join(',', l.Split(',').Reverse())));
        var settings = new DatasetReader.Settings("tags", "file", ';', scratch.Path, "trainval");
        DatasetReader.Loaded loaded = DatasetReader.Read(new MLContext(0), scratch.File("swapped.csv"), "--dataset", DatasetFormat.Auto, settings);
        Assert.AreEqual(DatasetFormat.Manifest, loaded.Format);
        Assert.AreEqual(6L, loaded.Rows);
        CollectionAssert.IsSubsetOf(loaded.ClassNames.ToArray(), SyntheticShapes.ClassNames(3).ToArray());

        var wrong = new DatasetReader.Settings("labels_typo", "file", ';', scratch.Path, "trainval");
        var e = Assert.Throws<Exception>(() => DatasetReader.Read(new MLContext(0), scratch.File("swapped.csv"), "--dataset", DatasetFormat.Auto, wrong));
        StringAssert.Contains(e.Message, "labels_typo");
    }

    [TestMethod]
    public void AMissingDatasetNamesTheOption()
    {
        var e = Assert.ThrowsExactly<CliException>(() => DatasetReader.Read(new MLContext(0), "/no/such/labels.csv", "--validation-dataset", DatasetFormat.Auto,
            new DatasetReader.Settings(null, null, ';', null, "trainval")));
        StringAssert.Contains(e.Message, "--validation-dataset '/no/such/labels.csv' does not exist");
    }
}
