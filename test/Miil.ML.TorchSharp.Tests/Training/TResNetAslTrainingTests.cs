using Miil.ML.Reports;
using Miil.ML.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class TResNetAslTrainingTests
{
    private static ShapesSet s_set = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => s_set = new ShapesSet(train: 320, validation: 96);

    [ClassCleanup]
    public static void RemoveData() => s_set.Dispose();

    [TestMethod]
    public void TrainingLearnsAndFitReportsWhatScoringTheValidationSetGives()
    {
        TResNetAslOptions options = s_set.Options(epochs: 4);
        var reports = new List<TrainingProgress>();
        options.Progress = new Recorder(reports.Add);
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);

        Assert.HasCount(4, model.History.Epochs);
        double last = model.History.Epochs[^1].ValidationMap!.Value;
        // Without learning, the best a model can do is score every image alike: its (tie-aware) mAP is then
        // each class's share of positives. What the run learned shows against that, on any CPU's arithmetic.
        double prior = s_set.ValidationPrevalence();
        Assert.IsGreaterThan(prior, last, $"validation mAP {last:P1} against {prior:P1} for scores that know nothing");
        Assert.IsTrue(model.History.Epochs.All(h => double.IsFinite(h.Loss) && h.Loss > 0));
        Assert.IsTrue(model.History.Epochs[^1].Loss < model.History.Epochs[0].Loss, "loss falls");

        // No train/serve skew: the exported ONNX scorer on the validation set gives the mAP Fit reported.
        MultiLabelMetrics served = s_set.Context.MultiLabel().Evaluate(model.Transform(s_set.Validation));
        Assert.AreEqual(model.ValidationMetrics!.MeanAveragePrecision, served.MeanAveragePrecision, 0.005);
        EpochSummary best = model.History.Epochs[model.History.SelectedEpoch - 1];
        Assert.AreEqual((model.History.SelectedWeights == SelectedWeights.Raw ? best.ValidationMap : best.EmaValidationMap)!.Value, model.ValidationMetrics.MeanAveragePrecision, 1e-12,
            "the selected epoch's recorded mAP is the selected model's");

        // Progress: every step of every epoch, then one epoch-end report each, and the export.
        int steps = (320 + 15) / 16;
        Assert.HasCount(4 * steps, reports.Where(r => r.Phase == TrainingPhase.Training).ToList());
        Assert.HasCount(4, reports.Where(r => r.Phase == TrainingPhase.EpochCompleted).ToList());
        Assert.IsTrue(reports.Any(r => r.Phase == TrainingPhase.Exporting));
        Assert.IsTrue(reports.Last(r => r.Phase == TrainingPhase.EpochCompleted).ValidationMap is double m && Math.Abs(m - last) < 1e-12);
        Assert.IsTrue(reports.Where(r => r.Phase == TrainingPhase.Training).All(r => r.LearningRate > 0 && r.ImagesPerSecond > 0));

        // Slot names are the classes; the saved zip loads back as our scorer with the same scores.
        using var scratch = new ScratchDirectory();
        string zip = scratch.File("model.zip");
        s_set.Context.Model.Save(model, s_set.Validation.Schema, zip);
        using ImageScoringTransformer loaded = s_set.Context.MultiLabel().LoadModel(zip, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = s_set.Folder });
        CollectionAssert.AreEqual(model.ClassNames.ToList(), loaded.Model.ClassNames.ToList());
        float[][] a = Scores(model.Transform(s_set.Validation)), b = Scores(loaded.Transform(s_set.Validation));
        for (int i = 0; i < a.Length; i++)
        {
            for (int k = 0; k < a[i].Length; k++)
            {
                Assert.AreEqual(a[i][k], b[i][k], 1e-5f);
            }
        }
    }

    [TestMethod]
    public void ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne()
    {
        using var whole = new ScratchDirectory();
        using var broken = new ScratchDirectory();
        TResNetAslOptions uninterrupted = s_set.Options(epochs: 3);
        uninterrupted.CheckpointDirectory = whole.Path;
        uninterrupted.CheckpointEverySteps = 7;
        using TResNetAslTransformer reference = s_set.Context.MultiLabel().TResNetAsl(uninterrupted).Fit(s_set.Train);

        // A crash in epoch 2, after the step-14 checkpoint and before the next one.
        TResNetAslOptions crashing = s_set.Options(epochs: 3);
        crashing.CheckpointDirectory = broken.Path;
        crashing.CheckpointEverySteps = 7;
        crashing.Progress = new Recorder(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Epoch == 2 && p.Step == 17)
            {
                throw new SimulatedCrash();
            }
        });
        Assert.ThrowsExactly<SimulatedCrash>(() => s_set.Context.MultiLabel().TResNetAsl(crashing).Fit(s_set.Train));
        Assert.IsTrue(File.Exists(Path.Combine(broken.Path, TrainingCheckpoint.FileName)));

        TResNetAslOptions resuming = s_set.Options(epochs: 3);
        resuming.CheckpointDirectory = broken.Path;
        resuming.CheckpointEverySteps = 7;
        var resumedSteps = new List<TrainingProgress>();
        resuming.Progress = new Recorder(resumedSteps.Add);
        using TResNetAslTransformer resumed = s_set.Context.MultiLabel().TResNetAsl(resuming).Fit(s_set.Train);

        Assert.AreEqual(2, resumedSteps.First(p => p.Phase == TrainingPhase.Training).Epoch, "resumed in epoch 2");
        Assert.AreEqual(15, resumedSteps.First(p => p.Phase == TrainingPhase.Training).Step, "from the step after the checkpoint");
        Assert.HasCount(3, resumed.History.Epochs);
        Assert.AreEqual(reference.History.SelectedEpoch, resumed.History.SelectedEpoch);
        Dictionary<string, Tensor> expected = reference.Network.state_dict();
        foreach ((string key, Tensor value) in resumed.Network.state_dict())
        {
            Assert.IsTrue(value.eq(expected[key]).all().item<bool>(), $"{key} differs after resuming");
        }
        for (int e = 0; e < 3; e++)
        {
            Assert.AreEqual(reference.History.Epochs[e].ValidationMap, resumed.History.Epochs[e].ValidationMap, $"epoch {e + 1}");
        }
    }

    [TestMethod]
    public void TrainsOnAnImageColumnFromLoadImagesAndScoresIt()
    {
        // LoadImages disposes the image it handed out when its getter runs again: Fit must keep copies.
        MLContext ml = s_set.Context;
        ITransformer load = ml.Transforms.LoadImages("Image", s_set.Folder, "ImagePath").Fit(s_set.Train);
        IDataView train = ml.Data.TakeRows(load.Transform(s_set.Train), 64);
        IDataView validation = load.Transform(s_set.Validation);
        TResNetAslOptions options = s_set.Options(epochs: 1);
        options.ImageColumnName = "Image";
        options.ImageFolder = null;
        options.ValidationSet = validation;
        using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(train);
        Assert.AreEqual(0, model.SkippedImages);
        MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(validation));
        Assert.AreEqual(model.ValidationMetrics!.MeanAveragePrecision, metrics.MeanAveragePrecision, 0.005);
    }

    [TestMethod]
    public void ARunWithoutAnExplicitSeedResumesWithItsCheckpointsSeed()
    {
        using var directory = new ScratchDirectory();
        TResNetAslOptions Options(IProgress<TrainingProgress>? progress)
        {
            TResNetAslOptions o = s_set.Options(epochs: 2);
            o.Seed = null;
            o.ValidationSet = null;
            o.CheckpointDirectory = directory.Path;
            o.Progress = progress;
            return o;
        }
        // Each context draws another seed; the second run must still resume the first.
        var crash = new Recorder(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Epoch == 2)
            {
                throw new SimulatedCrash();
            }
        });
        Assert.ThrowsExactly<SimulatedCrash>(() => new MLContext().MultiLabel().TResNetAsl(Options(crash)).Fit(s_set.Train));
        var steps = new List<TrainingProgress>();
        using TResNetAslTransformer resumed = new MLContext().MultiLabel().TResNetAsl(Options(new Recorder(steps.Add))).Fit(s_set.Train);
        Assert.AreEqual(2, steps.First(p => p.Phase == TrainingPhase.Training).Epoch, "resumed in epoch 2");
        Assert.HasCount(2, resumed.History.Epochs);
    }

    private static float[][] Scores(IDataView scored)
        => scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();

    private sealed class SimulatedCrash : Exception;

    private sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
