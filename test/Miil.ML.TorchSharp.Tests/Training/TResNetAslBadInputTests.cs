using Miil.ML.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class TResNetAslBadInputTests
{
    private static ShapesSet s_set = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => s_set = new ShapesSet(train: 48, validation: 16, seed: 3);

    [ClassCleanup]
    public static void RemoveData() => s_set.Dispose();

    private static TResNetAslTransformer Fit(TResNetAslOptions options, IDataView data) => s_set.Context.MultiLabel().TResNetAsl(options).Fit(data);

    private sealed class LabelRow
    {
        public string ImagePath { get; set; } = "";

        [VectorType(2)]
        public float[] Label { get; set; } = [];
    }

    [TestMethod]
    public void EmptyDataIsRefused()
    {
        IDataView empty = s_set.Context.Data.SkipRows(s_set.Train, 1_000_000);
        var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(s_set.Options(1), empty));
        StringAssert.Contains(e.Message, "no rows");
    }

    [TestMethod]
    public void LabelsWithoutAnyPositiveAreRefused()
    {
        IDataView data = Labelled([("a.png", [0, 0])], ["cat", "dog"]);
        TResNetAslOptions options = s_set.Options(1);
        options.ValidationSet = null;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(options, data));
        StringAssert.Contains(e.Message, "no positive");
    }

    [TestMethod]
    public void LabelVectorWithoutSlotNamesIsRefused()
    {
        IDataView data = s_set.Context.Data.LoadFromEnumerable(new[] { new LabelRow { ImagePath = "a.png", Label = [1, 0] } });
        TResNetAslOptions options = s_set.Options(1);
        options.ValidationSet = null;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(options, data));
        StringAssert.Contains(e.Message, "slot names");
        StringAssert.Contains(e.Message, "'Label'");
    }

    [TestMethod]
    public void LabelValuesOutsideOneZeroMinusOneAreRefusedNamingRowAndClass()
    {
        IDataView data = Labelled([("a.png", [1, 0]), ("b.png", [0.5f, 1])], ["cat", "dog"]);
        TResNetAslOptions options = s_set.Options(1);
        options.ValidationSet = null;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Fit(options, data));
        StringAssert.Contains(e.Message, "row 1 ('b.png')");
        StringAssert.Contains(e.Message, "'cat'");
    }

    [TestMethod]
    public void MissingImageColumnAndWrongColumnKindAreNamed()
    {
        TResNetAslOptions options = s_set.Options(1);
        options.ImageColumnName = "Picture";
        var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(options, s_set.Train));
        StringAssert.Contains(e.Message, "'Picture'");
        options.ImageColumnName = "Label";
        e = Assert.ThrowsExactly<ArgumentException>(() => Fit(options, s_set.Train));
        StringAssert.Contains(e.Message, "image paths (text) or images");
    }

    [TestMethod]
    public void AMissingImageStopsFitNamingRowAndPathOrIsSkippedAndCounted()
    {
        using var scratch = new ScratchDirectory();
        foreach (string file in Directory.GetFiles(Path.Combine(s_set.Folder, "images")))
        {
            Directory.CreateDirectory(scratch.File("images"));
            File.Copy(file, Path.Combine(scratch.File("images"), Path.GetFileName(file)));
        }
        File.Delete(scratch.File("images/00005.png"));
        TResNetAslOptions options = s_set.Options(1);
        options.ImageFolder = scratch.Path;
        options.ValidationSet = null;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(options, s_set.Train));
        StringAssert.Contains(e.Message, "training row 5 ('images/00005.png')");

        options.SkipUnreadableImages = true;
        using (TResNetAslTransformer model = Fit(options, s_set.Train))
        {
            Assert.AreEqual(1, model.SkippedImages);
            Assert.AreEqual(1, model.History.Epochs[0].SkippedImages);
        }

        // Validation rows are skipped the same way, and left out of the validation metrics.
        File.Delete(scratch.File("images/00050.png"));
        options.ValidationSet = s_set.Validation;
        using TResNetAslTransformer validated = Fit(options, s_set.Train);
        Assert.AreEqual(15, validated.ValidationMetrics!.SampleCount);
        options.SkipUnreadableImages = false;
        e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(options, s_set.Context.Data.SkipRows(s_set.Train, 6)));
        StringAssert.Contains(e.Message, "validation row 2 ('images/00050.png')");
    }

    [TestMethod]
    public void APretrainedCheckpointOfAnotherArchitectureIsRefusedNamingTheFile()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("other.safetensors");
        using (var other = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.5), ShapesSet.Classes))
        {
            TResNetCheckpoint.Save(other, path);
        }
        TResNetAslOptions options = s_set.Options(1);
        options.PretrainedWeights = path;
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => Fit(options, s_set.Train));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void ACheckpointOfAnotherRunIsLeftAloneAndFitRefuses()
    {
        using var scratch = new ScratchDirectory();
        TResNetAslOptions options = s_set.Options(1);
        options.CheckpointDirectory = scratch.Path;
        using (Fit(options, s_set.Train))
        {
        }
        string checkpoint = Path.Combine(scratch.Path, TrainingCheckpoint.FileName);
        byte[] before = File.ReadAllBytes(checkpoint);
        TResNetAslOptions other = s_set.Options(1);
        other.CheckpointDirectory = scratch.Path;
        other.BatchSize = 8;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(other, s_set.Train));
        StringAssert.Contains(e.Message, "another run");
        StringAssert.Contains(e.Message, "batch size");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(checkpoint));

        // Same settings, same rows in another order: other data, refused too.
        TResNetAslOptions reordered = s_set.Options(1);
        reordered.CheckpointDirectory = scratch.Path;
        e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(reordered, s_set.Context.Data.ShuffleRows(s_set.Train, seed: 3)));
        StringAssert.Contains(e.Message, "training data");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(checkpoint));
    }

    [TestMethod]
    public void IgnoredLabelsTrainAndStayOutOfTheLoss()
    {
        // VOC-style data: -1 where only difficult objects are present.
        IDataView data = WithMinusOnes(s_set.Train);
        TResNetAslOptions options = s_set.Options(1);
        options.ValidationSet = null;
        using TResNetAslTransformer model = Fit(options, data);
        Assert.IsTrue(double.IsFinite(model.History.Epochs[0].Loss) && model.History.Epochs[0].Loss > 0);

        // Out of the loss: whatever the logits of the -1 entries, the trainer's loss and the gradient of
        // every other entry stay the same, and those entries get no gradient at all.
        float[][] labels = data.GetColumn<float[]>("Label").Take(16).ToArray();
        using var scope = global::TorchSharp.torch.NewDisposeScope();
        global::TorchSharp.torch.Tensor targets = global::TorchSharp.torch.tensor(labels.SelectMany(l => l).ToArray(), [labels.Length, labels[0].Length]);
        global::TorchSharp.torch.Tensor ignored = targets.eq(-1);
        Assert.IsTrue(ignored.any().item<bool>(), "the batch has ignored entries");
        global::TorchSharp.torch.Tensor logits = global::TorchSharp.torch.randn(targets.shape, generator: new global::TorchSharp.torch.Generator(4));
        global::TorchSharp.torch.Tensor moved = logits.where(ignored.logical_not(), logits * 7 + 3);
        Miil.ML.TorchSharp.Losses.TrainingLossValue a = options.TrainingLoss().Compute(logits, targets), b = options.TrainingLoss().Compute(moved, targets);
        Assert.AreEqual(a.Sum, b.Sum, "the loss does not see the ignored entries' logits");
        global::TorchSharp.torch.Tensor gradient = a.LogitGradient ?? throw new AssertFailedException("ASL gives its gradient");
        Assert.IsTrue(gradient.masked_select(ignored).eq(0).all().item<bool>(), "no gradient reaches an ignored entry");
        Assert.IsTrue(gradient.eq(b.LogitGradient!).all().item<bool>(), "the other entries' gradient is unchanged");
    }

    private static IDataView WithMinusOnes(IDataView data)
    {
        var rows = data.GetColumn<string>("ImagePath").Zip(data.GetColumn<VBuffer<float>>("Label").Select(v => v.DenseValues().ToArray()))
            .Select((r, i) => { float[] label = r.Second; label[i % label.Length] = label[i % label.Length] == 0 ? -1 : label[i % label.Length]; return (r.First, label); })
            .ToList();
        return Labelled(rows, s_set.Context.MultiLabel().GetClassNames(data));
    }

    /// <summary>Hand-made rows as ImagePath + Label with the given class names as slot names.</summary>
    private static IDataView Labelled(IEnumerable<(string Path, float[] Label)> rows, IReadOnlyList<string> classes)
    {
        var names = new VBuffer<ReadOnlyMemory<char>>(classes.Count, classes.Select(c => c.AsMemory()).ToArray());
        var schema = SchemaDefinition.Create(typeof(ImageLabelRow));
        schema[nameof(ImageLabelRow.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes.Count);
        schema[nameof(ImageLabelRow.Label)].AddAnnotation("SlotNames", names, new VectorDataViewType(TextDataViewType.Instance, classes.Count));
        return s_set.Context.Data.LoadFromEnumerable(rows.Select(r => new ImageLabelRow { ImagePath = r.Path, Label = r.Label }).ToList(), schema);
    }

    private sealed class ImageLabelRow
    {
        public string ImagePath { get; set; } = "";

        public float[] Label { get; set; } = [];
    }

    [TestMethod]
    public void OptionsAreCheckedWhenTheEstimatorIsMade()
    {
        TResNetAslOptions options = s_set.Options(1);
        options.ImageSize = 30;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s_set.Context.MultiLabel().TResNetAsl(options));
        options = s_set.Options(1);
        options.ValidationSet = null;
        options.EarlyStoppingPatience = 2;
        Assert.ThrowsExactly<ArgumentException>(() => s_set.Context.MultiLabel().TResNetAsl(options));
        options = s_set.Options(1);
        options.EmaDecay = 1;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s_set.Context.MultiLabel().TResNetAsl(options));
        options = s_set.Options(1);
        options.Loss = options.Loss with { Reduction = Miil.ML.TorchSharp.Losses.LossReduction.None };
        Assert.ThrowsExactly<ArgumentException>(() => s_set.Context.MultiLabel().TResNetAsl(options));
        // The options object is mutable: Fit checks it again.
        options = s_set.Options(1);
        TResNetAslTrainer estimator = s_set.Context.MultiLabel().TResNetAsl(options);
        options.BatchSize = 0;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(s_set.Train));
    }

    [TestMethod]
    public void GpuRequestedWithoutCudaFallsBackOrRefuses()
    {
        var context = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        TResNetAslOptions options = s_set.Options(1);
        options.ValidationSet = null;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => context.MultiLabel().TResNetAsl(options).Fit(s_set.Train));
        StringAssert.Contains(e.Message, "FallbackToCpu");

        var fallback = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        var messages = new List<string>();
        fallback.Log += (_, m) => { lock (messages) { messages.Add(m.Message); } };
        using TResNetAslTransformer model = fallback.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
        Assert.IsTrue(messages.Any(m => m.Contains("Training on the CPU", StringComparison.Ordinal)), string.Join("\n", messages.Take(20)));
        Assert.IsTrue(messages.Any(m => m.Contains("Epoch 1/1", StringComparison.Ordinal)), "an epoch line in the log");
    }
}
