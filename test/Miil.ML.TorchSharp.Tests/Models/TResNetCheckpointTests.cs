using System.IO.Compression;
using System.Text;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models;

/// <summary>Fine-tuning head replacement, strictness, hostile files and this library's own checkpoints.</summary>
[TestClass]
public sealed class TResNetCheckpointTests
{
    private static string TinyPth => Golden.PathOf("tresnet_tiny.pth");

    private static string TinySafetensors => Golden.PathOf("tresnet_tiny.safetensors");

    [TestMethod]
    public void TimmKeysMapToTheOriginalLayout()
    {
        using var model = new TResNet(TResNetArchitecture.M, numClasses: 80);
        var modelKeys = new HashSet<string>(model.state_dict().Keys);
        string[] pairs = File.ReadAllLines(Golden.PathOf("tresnet_m_asl_to_timm_keymap.txt")).Where(l => l.Length > 0).ToArray();
        Assert.IsGreaterThan(400, pairs.Length);
        foreach (string line in pairs)
        {
            string[] p = line.Split('\t');
            Assert.AreEqual(p[0], TResNetCheckpoint.MapTimmKey(p[1], modelKeys), $"timm key {p[1]}");
        }
        string[] timmKeys = File.ReadAllLines(Golden.PathOf("tresnet_m_timm_keys.txt")).Where(l => l.Length > 0).Select(l => l.Split('\t')[0]).ToArray();
        Assert.AreEqual(TResNetCheckpointLayout.Timm, TResNetCheckpoint.DetectLayout(timmKeys));
        Assert.AreEqual(TResNetCheckpointLayout.Miil, TResNetCheckpoint.DetectLayout(modelKeys));
    }

    [TestMethod]
    public void AnotherClassCountKeepsAFreshHeadAndReportsTheSkippedKeys()
    {
        using TResNet reference = TResNetGoldenTests.NewTinyModel();
        TResNetCheckpoint.Load(reference, TinyPth);
        using var model = new TResNet(reference.Architecture, numClasses: 7);
        Tensor freshHead = model.state_dict()["head.fc.weight"].clone();

        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, TinyPth);
        Assert.IsTrue(info.HeadReplaced);
        CollectionAssert.AreEquivalent(new[] { "head.fc.weight", "head.fc.bias" }, info.SkippedKeys.ToArray());
        Assert.IsTrue(Same(model.state_dict()["head.fc.weight"], freshHead), "the model's own head is kept");
        foreach ((string key, Tensor value) in reference.state_dict().Where(kv => !kv.Key.StartsWith("head.") && !kv.Key.EndsWith("num_batches_tracked")))
        {
            Assert.IsTrue(Same(model.state_dict()[key], value), $"{key} loaded");
        }

        (TResNet byFile, TResNetCheckpointInfo fileInfo) = TResNetCheckpoint.LoadModel(TinyPth, numClasses: 9);
        using (byFile)
        {
            Assert.AreEqual(9, byFile.NumClasses);
            Assert.IsTrue(fileInfo.HeadReplaced);
        }
    }

    [TestMethod]
    public void KeysThatDoNotFitAreListedNeverSkippedSilently()
    {
        using var scratch = new ScratchDirectory();
        List<(string, Tensor)> original = ReadAll(TinySafetensors);

        string missing = scratch.File("missing.safetensors");
        SafetensorsFile.Write(missing, original.Where(t => t.Item1 != "body.layer2.0.conv1.0.0.weight"), new Dictionary<string, string>());
        AssertRejected(missing, "missing keys", "body.layer2.0.conv1.0.0.weight");

        string unknown = scratch.File("unknown.safetensors");
        SafetensorsFile.Write(unknown, original.Append(("body.layer9.0.extra", zeros(3))), new Dictionary<string, string>());
        AssertRejected(unknown, "unknown keys", "body.layer9.0.extra");

        string shape = scratch.File("shape.safetensors");
        SafetensorsFile.Write(shape, original.Select(t => t.Item1 == "body.conv1.0.weight" ? (t.Item1, zeros(16, 48, 1, 1)) : t), new Dictionary<string, string>());
        AssertRejected(shape, "shape mismatches", "body.conv1.0.weight is [16, 48, 1, 1] in the file but [16, 48, 3, 3] in the model");

        using var other = new TResNet(TResNetArchitecture.Custom([2, 1, 1, 1], 0.25), 5);
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(other, TinySafetensors));
        StringAssert.Contains(e.Message, "body.layer1.1.");
    }

    [TestMethod]
    public void BrokenAndHostileFilesAreClearErrorsNamingTheFile()
    {
        using var scratch = new ScratchDirectory();
        byte[] pth = File.ReadAllBytes(TinyPth);

        string truncated = scratch.File("truncated.pth");
        File.WriteAllBytes(truncated, pth.Take(pth.Length / 2).ToArray());
        AssertUnreadable(truncated);

        string text = scratch.File("notes.pth");
        File.WriteAllText(text, "these are not weights");
        AssertUnreadable(text, "neither a PyTorch checkpoint");

        string empty = scratch.File("empty.safetensors");
        File.WriteAllBytes(empty, []);
        AssertUnreadable(empty);

        byte[] st = File.ReadAllBytes(TinySafetensors);
        string giantHeader = scratch.File("giant-header.safetensors");
        byte[] bad = (byte[])st.Clone();
        BitConverter.GetBytes((ulong)(1L << 40)).CopyTo(bad, 0);
        bad[6] = 0;
        bad[7] = 0;
        File.WriteAllBytes(giantHeader, bad);
        AssertUnreadable(giantHeader, "header length");

        string truncatedSt = scratch.File("truncated.safetensors");
        File.WriteAllBytes(truncatedSt, st.Take(st.Length - 1000).ToArray());
        AssertUnreadable(truncatedSt, "outside");

        string hugeShape = scratch.File("huge-shape.safetensors");
        string header = """{"x":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,400]}}""";
        File.WriteAllBytes(hugeShape, SafetensorsBytes(header, new byte[400]));
        AssertUnreadable(hugeShape, "needs 40000000000 bytes");

        string legacy = scratch.File("legacy.pth");
        File.WriteAllBytes(legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]);
        AssertUnreadable(legacy, "legacy");

        // A pickle that would run a shell command if unpickled by Python: here nothing runs.
        string marker = scratch.File("pwned");
        string hostile = scratch.File("hostile.pth");
        byte[] pickle = Encoding.Latin1.GetBytes($"\u0080\u0002cposix\nsystem\nq\u0000X") .Concat(BitConverter.GetBytes($"touch {marker}".Length)).Concat(Encoding.ASCII.GetBytes($"touch {marker}")).Concat(Encoding.Latin1.GetBytes("\u0085Rq\u0001.")).ToArray();
        using (var zip = ZipFile.Open(hostile, ZipArchiveMode.Create))
        {
            using Stream entry = zip.CreateEntry("archive/data.pkl").Open();
            entry.Write(pickle);
        }
        AssertUnreadable(hostile);
        Assert.IsFalse(File.Exists(marker), "no code ran");
    }

    [TestMethod]
    public void OwnCheckpointsRoundTripExactly()
    {
        using var scratch = new ScratchDirectory();
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        TResNetCheckpoint.Load(model, TinyPth);
        string[] classes = ["cat", "dog", "traffic light", "person", "car"];
        string path = scratch.File("model.safetensors");
        TResNetCheckpoint.Save(model, path, classes, imageSize: 64);
        Assert.AreEqual(1, Directory.GetFiles(scratch.Path).Length, "no temporary file left behind");

        (TResNet loaded, TResNetCheckpointInfo info) = TResNetCheckpoint.LoadModel(path);
        using (loaded)
        {
            Assert.AreEqual(model.Architecture, loaded.Architecture);
            Assert.IsFalse(info.ConvertedInPlaceAbn, "this library's files are plain batch norm");
            CollectionAssert.AreEqual(classes, info.ClassNames!.ToArray());
            Assert.AreEqual(64, info.ImageSize);
            Dictionary<string, Tensor> before = model.state_dict(), after = loaded.state_dict();
            CollectionAssert.AreEquivalent(before.Keys.ToArray(), after.Keys.ToArray());
            foreach ((string key, Tensor value) in before)
            {
                Assert.IsTrue(Same(value, after[key]), $"{key} bit for bit");
            }
            TResNetGoldenTests.AssertLogits(loaded, "expected_logits", "saved copy");
        }

        // Overwriting keeps a valid file at every moment: the old one until the rename.
        TResNetCheckpoint.Save(model, path, classes, imageSize: 96);
        Assert.AreEqual(96, TResNetCheckpoint.LoadModel(path).Info.ImageSize);
    }

    [TestMethod]
    public void ACheckpointOfANewerFormatVersionIsRefusedNamingBothVersions()
    {
        using var scratch = new ScratchDirectory();
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 3);
        string path = scratch.File("future.safetensors");
        TResNetCheckpoint.Save(model, path);
        SafetensorsFile.Contents saved = SafetensorsFile.Read(path, metadataOnly: true);
        string json = saved.Metadata[TResNetCheckpoint.MetadataKey].Replace("\"version\":1", "\"version\":7", StringComparison.Ordinal);
        Assert.Contains("\"version\":7", json, "the metadata holds its version");
        SafetensorsFile.Write(path, model.StateDictInReferenceOrder(), new Dictionary<string, string> { [TResNetCheckpoint.MetadataKey] = json });
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(model, path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "version 7");
        StringAssert.Contains(e.Message, "up to version 1");
    }

    [TestMethod]
    public void MissingFileIsFileNotFound()
    {
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => TResNetCheckpoint.Load(model, "/nonexistent/weights.pth"));
        StringAssert.Contains(e.Message, "/nonexistent/weights.pth");
    }

    private static void AssertRejected(string path, params string[] fragments)
    {
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(model, path));
        StringAssert.Contains(e.Message, path);
        foreach (string f in fragments)
        {
            StringAssert.Contains(e.Message, f);
        }
    }

    private static void AssertUnreadable(string path, string? fragment = null)
    {
        using TResNet model = TResNetGoldenTests.NewTinyModel();
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(model, path));
        Assert.AreEqual(path, e.FilePath);
        StringAssert.Contains(e.Message, path);
        if (fragment is not null)
        {
            StringAssert.Contains(e.Message, fragment);
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static List<(string, Tensor)> ReadAll(string path)
        => SafetensorsFile.Read(path).Tensors.Select(t => (t.Name, t.Tensor)).ToList();

    private static byte[] SafetensorsBytes(string header, byte[] data)
        => BitConverter.GetBytes((ulong)header.Length).Concat(Encoding.UTF8.GetBytes(header)).Concat(data).ToArray();
}
