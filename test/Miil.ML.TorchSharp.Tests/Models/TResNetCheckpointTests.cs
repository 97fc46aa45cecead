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
    private static string TinyPth => TinyGolden.Pth;

    private static string TinySafetensors => TinyGolden.Safetensors;

    [TestMethod]
    public void TimmKeysMapToTheOriginalLayout()
    {
        using var model = new TResNet(TResNetArchitecture.M, classCount: 80);
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
        int otherClasses = TinyGolden.ClassCount + 2;
        using TResNet model = TinyGolden.NewModel(otherClasses);
        // The keys whose shape follows the class count: the last layer of the head.
        string[] classKeys = model.state_dict().Where(kv => kv.Value.dim() > 0 && kv.Value.shape[0] == otherClasses && kv.Key.StartsWith("head.", StringComparison.Ordinal)).Select(kv => kv.Key).ToArray();
        Assert.IsNotEmpty(classKeys);
        Dictionary<string, Tensor> fresh = classKeys.ToDictionary(k => k, k => model.state_dict()[k].clone());

        TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, TinyPth);
        Assert.IsTrue(info.HeadReplaced);
        CollectionAssert.AreEquivalent(classKeys, info.SkippedKeys.ToArray());
        foreach (string key in classKeys)
        {
            Assert.IsTrue(Same(model.state_dict()[key], fresh[key]), $"the model's own {key} is kept");
        }
        foreach ((string key, Tensor value) in reference.state_dict().Where(kv => !classKeys.Contains(kv.Key) && !kv.Key.EndsWith("num_batches_tracked")))
        {
            Assert.IsTrue(Same(model.state_dict()[key], value), $"{key} loaded");
        }

        (TResNet byFile, TResNetCheckpointInfo fileInfo) = TResNetCheckpoint.LoadModel(TinyPth, classCount: TinyGolden.ClassCount + 4);
        using (byFile)
        {
            Assert.AreEqual(TinyGolden.ClassCount + 4, byFile.ClassCount);
            Assert.IsTrue(fileInfo.HeadReplaced);
        }
    }

    [TestMethod]
    public void ABottleneckHeadKeepsItsEmbeddingWhenTheClassCountChanges()
    {
        using var scratch = new ScratchDirectory();
        using var source = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), classCount: 4, bottleneckFeatures: 24);
        string path = scratch.File("bottleneck.safetensors");
        TResNetCheckpoint.Save(source, path);
        using var target = new TResNet(source.Architecture, classCount: 6, bottleneckFeatures: 24);
        Dictionary<string, Tensor> before = target.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        TResNetCheckpointInfo info = TResNetCheckpoint.Load(target, path);
        Assert.IsTrue(info.HeadReplaced);
        string[] classifier = target.state_dict().Where(kv => kv.Key.StartsWith("head.", StringComparison.Ordinal) && kv.Value.shape[0] == 6).Select(kv => kv.Key).ToArray();
        CollectionAssert.AreEquivalent(classifier, info.SkippedKeys.ToArray(), "only the class-sized tensors are skipped");
        foreach ((string key, Tensor value) in target.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked")))
        {
            Tensor expected = classifier.Contains(key) ? before[key] : source.state_dict()[key];
            Assert.IsTrue(Same(value, expected), classifier.Contains(key) ? $"{key} stays fresh" : $"{key} loaded");
        }
    }

    [TestMethod]
    public void KeysThatDoNotFitAreListedNeverSkippedSilently()
    {
        using var scratch = new ScratchDirectory();
        List<(string, Tensor)> original = ReadAll(TinySafetensors);
        IReadOnlyList<(string Key, long[] Shape)> reference = TinyGolden.StateDict;

        // A key from the middle of the body, one whose removal cannot be taken for a replaced head.
        string body = reference.Where(e => !e.Key.StartsWith("head.", StringComparison.Ordinal)).ElementAt(reference.Count / 2).Key;
        string missing = scratch.File("missing.safetensors");
        SafetensorsFile.Write(missing, original.Where(t => t.Item1 != body), new Dictionary<string, string>());
        AssertRejected(missing, "missing keys", body);

        string unknown = scratch.File("unknown.safetensors");
        SafetensorsFile.Write(unknown, original.Append(("body.layer9.0.extra", zeros(3))), new Dictionary<string, string>());
        AssertRejected(unknown, "unknown keys", "body.layer9.0.extra");

        // The first convolution's kernel with its spatial size changed: the right key, the wrong shape.
        (string conv, long[] convShape) = reference.First(e => e.Shape.Length == 4);
        long[] wrong = [convShape[0], convShape[1], convShape[2] + 2, convShape[3] + 2];
        string shape = scratch.File("shape.safetensors");
        SafetensorsFile.Write(shape, original.Select(t => t.Item1 == conv ? (t.Item1, zeros(wrong)) : t), new Dictionary<string, string>());
        AssertRejected(shape, "shape mismatches", $"{conv} is [{string.Join(", ", wrong)}] in the file but [{string.Join(", ", convShape)}] in the model");

        // One more block in the first stage than the file holds: that block's keys are missing.
        int[] deeper = TinyGolden.Layers.ToArray();
        deeper[0]++;
        using var other = new TResNet(TResNetArchitecture.Custom(deeper, TinyGolden.WidthFactor), TinyGolden.ClassCount, TinyGolden.BottleneckFeatures, TinyGolden.InChannels);
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(other, TinySafetensors));
        StringAssert.Contains(e.Message, $"body.layer1.{TinyGolden.Layers[0]}.");
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

        // Found by the fuzz soak: a header naming one tensor twice was an ArgumentException from System.Text.Json.
        string twice = scratch.File("twice.safetensors");
        string repeated = """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""";
        File.WriteAllBytes(twice, SafetensorsBytes(repeated, new byte[4]));
        AssertUnreadable(twice, "twice");

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
        // As many names as the golden model has classes, with a space and non-ASCII to round-trip.
        string[] classes = Enumerable.Range(0, TinyGolden.ClassCount).Select(i => i % 2 == 0 ? $"traffic light {i}" : $"café {i}").ToArray();
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
        string json = saved.Metadata[TResNetCheckpoint.MetadataKey].Replace($"\"version\":{TResNetCheckpointMetadata.CurrentVersion}", "\"version\":7", StringComparison.Ordinal);
        Assert.Contains("\"version\":7", json, "the metadata holds its version");
        SafetensorsFile.Write(path, model.StateDictInReferenceOrder(), new Dictionary<string, string> { [TResNetCheckpoint.MetadataKey] = json });
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TResNetCheckpoint.Load(model, path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "version 7");
        StringAssert.Contains(e.Message, $"up to version {TResNetCheckpointMetadata.CurrentVersion}");
    }

    [TestMethod]
    public void AVersion1CheckpointLoadsAsTResNetV1WithThePoolingHead()
    {
        // Version 1 (before TResNet-V2 and ML-Decoder) had neither the V2 flag nor the head: it meant V1 and pooling.
        using var scratch = new ScratchDirectory();
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 3);
        string path = scratch.File("version1.safetensors");
        TResNetCheckpoint.Save(model, path);
        SafetensorsFile.Contents saved = SafetensorsFile.Read(path, metadataOnly: true);
        var metadata = System.Text.Json.Nodes.JsonNode.Parse(saved.Metadata[TResNetCheckpoint.MetadataKey])!.AsObject();
        metadata["version"] = 1;
        metadata.Remove("v2");
        metadata.Remove("ml_decoder");
        SafetensorsFile.Write(path, model.StateDictInReferenceOrder(), new Dictionary<string, string> { [TResNetCheckpoint.MetadataKey] = metadata.ToJsonString() });
        using var loaded = (TResNet)Miil.ML.TorchSharp.Models.MultiLabelNetwork.Load(path);
        Assert.IsFalse(loaded.Architecture.IsV2);
        Assert.IsFalse(loaded.Head.IsMLDecoder);
        Assert.IsTrue(loaded.state_dict().All(kv => kv.Value.eq(model.state_dict()[kv.Key]).all().item<bool>()), "every tensor as saved");
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
