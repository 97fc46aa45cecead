using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.Images;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;
using Miil.ML.TorchSharp.Tests.Models;
using Miil.ML.TorchSharp.Tests.Training;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Pretrained;

/// <summary>
/// Weights by name: the catalogue, resolution through a hub on 127.0.0.1 (the golden checkpoints
/// published there, downloaded, loaded, and giving the golden logits), timm's layout written back,
/// the trainer and the direct scorer taking a name.
/// </summary>
[TestClass]
public sealed class PretrainedWeightsTests
{
    private static HubOptions Options(LoopbackHub hub, ScratchDirectory cache) => new() { Endpoint = hub.Endpoint, CacheDirectory = cache.Path };

    [TestMethod]
    public void TheCatalogueDescribesEveryEntryAndNamesWhatCannotBeBuilt()
    {
        Assert.AreEqual(PretrainedModels.All.Count, PretrainedModels.All.Select(m => m.Name.ToLowerInvariant()).Distinct().Count(), "names are unique");
        foreach (PretrainedModel m in PretrainedModels.All)
        {
            Assert.IsTrue(m.Architecture is not null ^ m.Unsupported is not null, $"{m.Name}: an architecture or a reason");
            Assert.IsTrue(m.ImageSize % 32 == 0 && m.ClassCount > 0 && m.License.Length > 0 && m.Source.Length > 0, m.Name);
            // Each family's weights expect its own input: TResNet 0-1 RGB without a mean, torchvision and timm
            // ResNets the ImageNet mean and std, ML.NET's ResNet18 BGR 0-255 (its mean image is in the network).
            ImagePreprocessing expected = m.Architecture!.Preprocessing(m.ImageSize);
            Assert.AreEqual(expected.ChannelOrder, m.Preprocessing.ChannelOrder, m.Name);
            Assert.AreEqual(expected.Scale, m.Preprocessing.Scale, m.Name);
            CollectionAssert.AreEqual(expected.Mean.ToArray(), m.Preprocessing.Mean.ToArray(), m.Name);
            CollectionAssert.AreEqual(expected.Std.ToArray(), m.Preprocessing.Std.ToArray(), m.Name);
            Assert.AreEqual(m.Architecture is TResNetArchitecture or ResNetArchitecture { IsMLNet: true }, m.Preprocessing.Mean.All(v => v == 0),
                $"{m.Name}: only TResNet and ML.NET's ResNet18 (its mean image is in the network) take no mean");
            if (m.ClassNames is { } names)
            {
                Assert.HasCount(m.ClassCount, names, m.Name);
                Assert.AreEqual(names.Count, names.Distinct().Count(), m.Name);
            }
        }
        foreach (string timm in new[] { "tresnet_m.miil_in21k", "tresnet_m.miil_in21k_ft_in1k", "tresnet_m.miil_in1k", "tresnet_l.miil_in1k", "tresnet_xl.miil_in1k", "tresnet_m.miil_in1k_448" })
        {
            Assert.IsNotNull(PretrainedModels.Find(timm), timm);
        }
        Assert.AreEqual(11221, PretrainedModels.Find("TRESNET_M.MIIL_IN21K")!.ClassCount, "case-insensitive; the 21k-P head");
        Assert.AreEqual(80, PretrainedModels.Find("MS_COCO_TRresNet_M_224_81.8")!.ClassNames!.Count);

        using var cache = new ScratchDirectory();
        using var client = new HubClient(new HubOptions { CacheDirectory = cache.Path, Offline = true });
        Assert.IsTrue(PretrainedModels.All.All(m => m.Unsupported is null), "TResNet-V2 and ML-Decoder's zoo are built now");
        Assert.IsTrue(((TResNetArchitecture)PretrainedModels.Find("tresnet_v2_l.miil_in21k")!.Architecture!).IsV2);
        foreach (string zoo in new[] { "tresnet_m_COCO_224_84_2", "tresnet_l_COCO__448_90_0", "tresnet_xl_COCO_640_91_4", "tresnet_m_open_images_200_groups_86_8", "tresnet_l_stanford_card_96.41" })
        {
            Assert.IsTrue(PretrainedModels.Find(zoo)?.Head?.IsMLDecoder, zoo);
        }
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => PretrainedWeightsSource.Resolve("tresnet_q.imaginary", client));
        StringAssert.Contains(unknown.Message, "tresnet_m.miil_in21k");
        StringAssert.Contains(unknown.Message, "hf-hub:");
        Assert.ThrowsExactly<FileNotFoundException>(() => PretrainedWeightsSource.Resolve("/nowhere/weights.pth", client));
        Assert.AreEqual(HubErrorKind.NotCached, Assert.ThrowsExactly<HubDownloadException>(() => PretrainedWeightsSource.Resolve("tresnet_m.miil_in1k", client)).Kind,
            "offline with an empty cache: nothing is fetched");
    }

    [TestMethod]
    public void GoldenCheckpointsDownloadedByNameGiveTheGoldenLogits()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        // timm's hub repositories hold model.safetensors; one with only pytorch_model.bin is found too.
        hub.Publish("golden/tresnet_tiny", "main", ("model.safetensors", File.ReadAllBytes(Golden.PathOf("tresnet_tiny_timm.safetensors"))));
        hub.Publish("golden/tresnet_tiny_pth", "main", ("pytorch_model.bin", File.ReadAllBytes(TinyGolden.Pth)));
        using var client = new HubClient(Options(hub, cache));
        foreach (string name in new[] { "hf-hub:golden/tresnet_tiny", "hf-hub:golden/tresnet_tiny_pth@main" })
        {
            (string path, PretrainedModel? entry) = PretrainedWeightsSource.Resolve(name, client);
            Assert.IsNull(entry);
            StringAssert.StartsWith(path, cache.Path);
            (TResNet model, TResNetCheckpointInfo _) = TResNetCheckpoint.LoadModel(path);
            using (model)
            {
                TResNetGoldenTests.AssertLogits(model, "expected_logits", name);
            }
        }
    }

    /// <summary>
    /// TResNet-V2 by timm's name through the hub (the golden V2 checkpoint published as timm's repository),
    /// and ML-Decoder by the zoo's name through the cache (the golden zoo file placed where the download of
    /// the zoo's address goes, as an air-gapped user would, then resolved offline); both load as what they
    /// are and give the golden logits, and the zoo's name scores directly with the file's class names and
    /// the zoo's threshold.
    /// </summary>
    [TestMethod]
    public void TResNetV2AndMLDecoderNamesResolveThroughTheCache()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        string v2File = Directory.GetFiles(Golden.Directory, "tresnet_v2_tiny.safetensors").Single();
        hub.Publish("timm/tresnet_v2_l.miil_in21k", "main", ("model.safetensors", File.ReadAllBytes(v2File)));
        using (var client = new HubClient(Options(hub, cache)))
        {
            (string path, PretrainedModel? entry) = PretrainedWeightsSource.Resolve("tresnet_v2_l.miil_in21k", client);
            Assert.AreEqual("tresnet_v2_l.miil_in21k", entry!.Name);
            StringAssert.StartsWith(path, cache.Path);
            using var model = (TResNet)Miil.ML.TorchSharp.Models.MultiLabelNetwork.Load(path);
            Assert.IsTrue(model.Architecture.IsV2);
            CollectionAssert.AreEqual(File.ReadAllBytes(v2File), File.ReadAllBytes(path));
        }

        const string Zoo = "tresnet_m_COCO_224_84_2";
        JsonElement head = Golden.Json("mldecoder_tiny.json").RootElement.GetProperty("meta").GetProperty("heads")[0];
        string placed = new HubCache(cache.Path).Download(new Uri(PretrainedModels.Find(Zoo)!.Source));
        Directory.CreateDirectory(Path.GetDirectoryName(placed)!);
        File.Copy(Golden.PathOf(head.GetProperty("file").GetString()!), placed);
        var offline = new HubOptions { CacheDirectory = cache.Path, Offline = true };
        using (var client = new HubClient(offline))
        {
            (string path, PretrainedModel? entry) = PretrainedWeightsSource.Resolve(Zoo, client);
            Assert.AreEqual(placed, path);
            Assert.IsTrue(entry!.Head!.IsMLDecoder);
            using var model = (TResNet)Miil.ML.TorchSharp.Models.MultiLabelNetwork.Load(path);
            Assert.IsTrue(model.Head.IsMLDecoder);
            Assert.AreEqual(head.GetProperty("num_classes").GetInt32(), model.ClassCount);
        }

        using var set = new ShapesSet(train: 8, validation: 8, seed: 8);
        using ImageScoringTransformer scorer = set.Context.MultiLabel()
            .LoadPretrained(Zoo, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = set.Folder }, imageSize: 64, hub: offline)
            .Fit(set.Validation);
        Assert.AreEqual(0.75f, scorer.Model.Thresholds[0], "the zoo's inference threshold");
        Assert.HasCount(head.GetProperty("num_classes").GetInt32(), scorer.Model.ClassNames);
        StringAssert.StartsWith(scorer.Model.ClassNames[0], head.GetProperty("name").GetString()!, "the file's idx_to_class, not the catalogue's COCO names");
    }

    [TestMethod]
    public void TimmsLayoutIsWrittenAsTimmsCheckpointFilterReadsIt()
    {
        // The golden key map pairs each MIIL key with timm's (produced by timm's own filter).
        foreach (string line in File.ReadAllLines(Golden.PathOf("tresnet_m_asl_to_timm_keymap.txt")).Where(l => l.Length > 0))
        {
            string[] pair = line.Split('\t');
            Assert.AreEqual(pair[1], TResNetCheckpoint.ToTimmKey(pair[0]), pair[0]);
        }
        using var scratch = new ScratchDirectory();
        using TResNet tiny = TinyGolden.NewModel();
        TResNetCheckpoint.Load(tiny, TinyGolden.Pth);
        string path = scratch.File("model.safetensors");
        TResNetCheckpoint.SaveTimm(tiny, path);
        (TResNet loaded, TResNetCheckpointInfo info) = TResNetCheckpoint.LoadModel(path);
        using (loaded)
        {
            Assert.AreEqual(TResNetCheckpointLayout.Timm, info.Layout);
            Assert.IsFalse(info.ConvertedInPlaceAbn, "timm's layout holds plain batch norm");
            TResNetGoldenTests.AssertLogits(loaded, "expected_logits", "written in timm's layout");
        }
    }

    [TestMethod]
    public void TheTrainerTakesAHubNameAndADirectScorerNeedsNoTraining()
    {
        using var set = new ShapesSet(train: 48, validation: 16, seed: 8);
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        using var scratch = new ScratchDirectory();
        TResNetAslOptions options = set.Options(epochs: 1);
        string own = scratch.File("own.safetensors");
        using (var source = new TResNet((TResNetArchitecture)options.Architecture!, ShapesSet.Classes))
        {
            TResNetCheckpoint.Save(source, own, SyntheticShapesClassNames(), imageSize: 32);
        }
        hub.Publish("us/shapes-tiny", "v1", ("model.safetensors", File.ReadAllBytes(own)));

        options.PretrainedWeights = "hf-hub:us/shapes-tiny@v1";
        options.Hub = Options(hub, cache);
        var downloads = new List<HubDownloadProgress>();
        options.DownloadProgress = new Recorder<HubDownloadProgress>(downloads.Add);
        using TResNetAslTransformer trained = set.Context.MultiLabel().TResNetAsl(options).Fit(set.Train);
        Assert.IsNotEmpty(downloads, "the download reported progress");
        Assert.HasCount(1, trained.History.Epochs);

        // The published model scores as it is: its class names become the slot names.
        using ImageScoringTransformer scorer = set.Context.MultiLabel()
            .LoadPretrained("hf-hub:us/shapes-tiny@v1", new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = set.Folder }, hub: Options(hub, cache))
            .Fit(set.Validation);
        VBuffer<ReadOnlyMemory<char>> slots = default;
        scorer.Transform(set.Validation).Schema["Score"].GetSlotNames(ref slots);
        CollectionAssert.AreEqual(SyntheticShapesClassNames().ToArray(), slots.DenseValues().Select(s => s.ToString()).ToArray());
        Assert.AreEqual(0.5f, scorer.Model.Thresholds[0], "no catalogue threshold: 0.5");

        var imagenet = Assert.ThrowsExactly<ArgumentException>(() => set.Context.MultiLabel().LoadPretrained("tresnet_m.miil_in1k"));
        StringAssert.Contains(imagenet.Message, "not a multi-label model");
        var wrong = set.Options(epochs: 1);
        wrong.PretrainedWeights = "tresnet_l.miil_in1k";
        wrong.Hub = new HubOptions { CacheDirectory = cache.Path, Offline = true };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => set.Context.MultiLabel().TResNetAsl(wrong).Fit(set.Train)).Message,
            "TResNetArchitecture.L", "checked before any download");
        wrong.PretrainedWeights = "hf-hub:us/never-published";
        Assert.AreEqual(HubErrorKind.NotCached, Assert.ThrowsExactly<HubDownloadException>(() => set.Context.MultiLabel().TResNetAsl(wrong).Fit(set.Train)).Kind);
    }

    private static IReadOnlyList<string> SyntheticShapesClassNames() => Miil.ML.Datasets.SyntheticShapes.ClassNames(ShapesSet.Classes);

    private sealed class Recorder<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
