using System.IO.Compression;
using Microsoft.ML;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;

namespace Miil.ML.Onnx.Tests.Scoring;

/// <summary>
/// <c>LoadModel</c> on files that are not model zips: each refusal names the file, says what it is not
/// and what to do, instead of ML.NET's bare <see cref="FormatException"/>.
/// </summary>
[TestClass]
public sealed class ModelZipLoaderTests
{
    private sealed class Row
    {
        public string ImagePath { get; set; } = "";
    }

    private static InvalidOperationException Refused(string path)
        => Assert.ThrowsExactly<InvalidOperationException>(() => new MLContext(seed: 0).MultiLabel().LoadModel(path));

    [TestMethod]
    public void RandomBytesAreNotAModelZip()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("random.zip");
        byte[] bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        InvalidOperationException e = Refused(path);
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "not a model zip");
        StringAssert.Contains(e.Message, "mlContext.Model.Save");
    }

    [TestMethod]
    public void AnOnnxFileIsSentToScoreImages()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("model.onnx");
        File.WriteAllBytes(path, ContractModels.Tiny(3, 32, ["a", "b", "c"], [0.5f, 0.5f, 0.5f]));
        InvalidOperationException e = Refused(path);
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "is an ONNX model");
        StringAssert.Contains(e.Message, "ScoreImages");
    }

    [TestMethod]
    public void AZipWithoutAModelSaysSo()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("photos.zip");
        using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using StreamWriter writer = new(zip.CreateEntry("notes/readme.txt").Open());
            writer.Write("not a model");
        }
        InvalidOperationException e = Refused(path);
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "holds no ONNX model");
    }

    [TestMethod]
    public void AStockModelWithoutOursSaysSo()
    {
        // A real ML.NET model zip, just not a Miil.ML one: refused before ML.NET restores it.
        using var scratch = new ScratchDirectory();
        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(new[] { new Row { ImagePath = "a.png" } });
        ITransformer copy = ml.Transforms.CopyColumns("Copy", "ImagePath").Fit(data);
        string path = scratch.File("stock.zip");
        ml.Model.Save(copy, data.Schema, path);
        StringAssert.Contains(Refused(path).Message, "holds no ONNX model");
    }

    [TestMethod]
    public void EntryNamesThatLeaveTheArchiveAreRefusedBeforeAnythingIsRead()
    {
        using var scratch = new ScratchDirectory();
        string[] names = ["../evil/OnnxModel", "a/../../OnnxModel", "/etc/OnnxModel", "a\\..\\OnnxModel"];
        for (int i = 0; i < names.Length; i++)
        {
            string name = names[i];
            string path = scratch.File($"hostile{i}.zip");
            using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create))
            {
                using Stream stream = zip.CreateEntry(name).Open();
                stream.Write(new byte[16]);
            }
            InvalidOperationException e = Refused(path);
            StringAssert.Contains(e.Message, path, name);
            StringAssert.Contains(e.Message, $"'{name}'", name);
            StringAssert.Contains(e.Message, "leaves the archive", name);
        }
        Assert.IsFalse(File.Exists(Path.Combine(Path.GetDirectoryName(scratch.Path)!, "evil", "OnnxModel")));
    }

    [TestMethod]
    public void ADamagedZipIsNamed()
    {
        // A zip header with the rest cut away: the central directory is gone.
        using var scratch = new ScratchDirectory();
        string whole = scratch.File("whole.zip");
        using (ZipArchive zip = ZipFile.Open(whole, ZipArchiveMode.Create))
        {
            using Stream stream = zip.CreateEntry("Model/OnnxModel").Open();
            stream.Write(new byte[1024]);
        }
        string cut = scratch.File("cut.zip");
        byte[] bytes = File.ReadAllBytes(whole);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        InvalidOperationException e = Refused(cut);
        StringAssert.Contains(e.Message, cut);
        StringAssert.Contains(e.Message, "damaged zip");
    }

    [TestMethod]
    public void AFolderOrAMissingFileIsNamed()
    {
        using var scratch = new ScratchDirectory();
        var ml = new MLContext(seed: 0);
        StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => ml.MultiLabel().LoadModel(scratch.Path)).Message, "is a folder");
        string missing = scratch.File("missing.zip");
        StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => ml.MultiLabel().LoadModel(missing)).Message, missing);
    }
}
