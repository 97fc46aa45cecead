using Microsoft.ML;
using Microsoft.ML.Runtime;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Numerics;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>
/// <see cref="TrainingPrecision.BFloat16"/> end to end at tiny scale: it trains, keeps float32 state
/// everywhere it persists, resumes bit for bit in the same precision and at all in the other, and a CPU
/// without bfloat16 instructions trains in float32 with a warning. ForceBFloat16 takes the bfloat16 path
/// on any CPU (the arithmetic still uses this CPU's kernels, so the bounds come from float64 references).
/// </summary>
[TestClass]
[DoNotParallelize]  // BFloat16Support.Override is process-wide
public sealed class MixedPrecisionTests
{
    private static ShapesSet s_set = null!;

    [ClassInitialize]
    public static void MakeData(TestContext _) => s_set = new ShapesSet(train: 160, validation: 64, seed: 21);

    [ClassCleanup]
    public static void RemoveData() => s_set.Dispose();

    private static TResNetAslOptions Options(int epochs, TrainingPrecision precision)
    {
        TResNetAslOptions options = s_set.Options(epochs);
        options.Precision = precision;
        options.ForceBFloat16 = true;
        return options;
    }

    /// <summary>
    /// The twin's float32 gradients against float64, parameter by parameter, under a bound taken from a
    /// float64 reference of the rounding itself: the same network in float64 with its weights, its input
    /// and every layer's output rounded to bfloat16 (<see cref="RoundingEmulation"/>). That run has the
    /// forward pass's rounding errors and the network's own conditioning (batch norm with few values per
    /// channel amplifies them: in training mode at this size, rounding alone moves some gradients by 40-70%)
    /// and none of any kernel's; the backward pass rounds once more per layer, which at most doubles the error
    /// (first order). So each relative error stays within twice the emulation's worst one. Norms run in eval
    /// mode here, where rounding alone gives 3-13% and a wrong kernel, pairing or cast shows: the strided
    /// depthwise kernel that broke the blur gave about 95%. Float32 shows that the reference is the right
    /// one: its rounding is 2^16 times finer, and its longest sums here (the stem's weight gradient over
    /// 8 x 8 x 8 positions, 2^9 terms) give back at most 2^9 of that, so its error stays 2^-7 of the bound.
    /// </summary>
    [TestMethod]
    public void BFloat16PassesGiveTheFloat64GradientsWithinTheRoundingOfBFloat16()
    {
        random.manual_seed(7);
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 5);
        FillResidualNorms(model);
        model.eval();
        var names = model.named_parameters().Select(p => p.name).ToList();
        using var scope = NewDisposeScope();
        Tensor x = rand([8, 3, 32, 32], generator: new Generator(3));

        RoundingEmulation.Result exact = RoundingEmulation.Run(model, x, roundTo: null);
        RoundingEmulation.Result rounded = RoundingEmulation.Run(model, x, roundTo: ScalarType.BFloat16);
        double bound = 2 * names.Select((_, i) => RoundingEmulation.RelativeError(rounded.Gradients[i], exact.Gradients[i])).Max();
        Assert.IsGreaterThan(0.0, bound, "the emulation rounds");
        using (var passes = new BFloat16Passes(model, CPU, normInFloat32: true, names))
        {
            Tensor mixed = passes.Forward(x);
            Assert.AreEqual(ScalarType.Float32, mixed.dtype, "the loss reads float32 logits");
            mixed.sigmoid().sum().backward();
            AssertGradientsWithin(bound, "bfloat16", names, passes.MasterGradients(), exact);
        }
        model.zero_grad();
        model.call(x).sigmoid().sum().backward();
        AssertGradientsWithin(bound / 128, "float32", names, model.parameters().Select(p => p.grad).ToList(), exact);
    }

    /// <summary>
    /// In training mode the twin's batch statistics reach the float32 master: its running means after one
    /// bfloat16 forward pass are the float64 reference's within twice the rounding emulation's distance
    /// (plus one bfloat16 rounding of the value itself), and far from where they started.
    /// </summary>
    [TestMethod]
    public void TheMasterTakesTheTwinsRunningStatistics()
    {
        random.manual_seed(7);
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 5);
        FillResidualNorms(model);
        model.train();
        using var scope = NewDisposeScope();
        Tensor x = rand([8, 3, 32, 32], generator: new Generator(3));
        RoundingEmulation.Result exact = RoundingEmulation.Run(model, x, roundTo: null);
        RoundingEmulation.Result rounded = RoundingEmulation.Run(model, x, roundTo: ScalarType.BFloat16);

        using var passes = new BFloat16Passes(model, CPU, normInFloat32: true, model.named_parameters().Select(p => p.name));
        passes.Forward(x);
        foreach ((string name, Tensor buffer) in model.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)))
        {
            Assert.AreEqual(ScalarType.Float32, buffer.dtype, name);
            double scale = exact.Buffers[name].abs().max().item<double>();
            double allowed = 2 * (rounded.Buffers[name] - exact.Buffers[name]).abs().max().item<double>() + BFloat16UnitRoundoff * scale;
            double distance = (buffer.to(ScalarType.Float64) - exact.Buffers[name]).abs().max().item<double>();
            Bounds.AtMost(allowed, distance, $"{name}: the master's running mean");
            Assert.IsGreaterThan(allowed, scale, $"{name}: the statistics moved by more than the bound");
        }
    }

    private const double BFloat16UnitRoundoff = 1.0 / 256;

    /// <summary>The reference zero-initialises each residual branch's last norm: no gradient would reach those branches.</summary>
    private static void FillResidualNorms(TResNet model)
    {
        using var noGrad = no_grad();
        foreach ((string name, Tensor p) in model.named_parameters().Where(p => p.parameter.dim() == 1 && p.name.EndsWith(".weight", StringComparison.Ordinal)))
        {
            p.fill_(1.0f);
        }
    }

    private static void AssertGradientsWithin(double bound, string precision, IReadOnlyList<string> names, IReadOnlyList<Tensor?> gradients, RoundingEmulation.Result exact)
    {
        for (int i = 0; i < names.Count; i++)
        {
            Tensor gradient = gradients[i] ?? throw new AssertFailedException($"{names[i]}: no gradient");
            Assert.AreEqual(ScalarType.Float32, gradient.dtype, names[i]);
            double error = RoundingEmulation.RelativeError(gradient, exact.Gradients[i]);
            Bounds.AtMost(bound, error, $"{precision} {names[i]}: relative error of the gradient against float64");
        }
    }

    [TestMethod]
    public void TrainsScoresAndKeepsFloat32State()
    {
        using var scratch = new ScratchDirectory();
        TResNetAslOptions options = Options(3, TrainingPrecision.BFloat16);
        options.CheckpointDirectory = scratch.Path;
        using TResNetAslTransformer model = s_set.Context.MultiLabel().TResNetAsl(options).Fit(s_set.Train);

        Assert.AreEqual(TrainingPrecision.BFloat16, model.Precision);
        Assert.IsTrue(model.History.Epochs[^1].Loss < model.History.Epochs[0].Loss, "loss falls");
        Assert.IsTrue(model.Network.parameters().All(p => p.dtype == ScalarType.Float32), "master weights are float32");
        (_, Dictionary<string, Tensor> saved) = TrainingCheckpoint.Load(Path.Combine(scratch.Path, TrainingCheckpoint.FileName));
        Assert.IsTrue(saved.Values.Where(t => t.is_floating_point()).All(t => t.dtype == ScalarType.Float32), "checkpoints hold float32");
        MultiLabelMetrics metrics = s_set.Context.MultiLabel().Evaluate(model.Transform(s_set.Validation));
        Assert.AreEqual(model.ValidationMetrics!.MeanAveragePrecision, metrics.MeanAveragePrecision, 0.005, "the float32 export scores as validated");

        // A float16 export for GPU scoring: same scores within 1e-2, through the same scorer.
        string half = Path.Combine(scratch.Path, "model-float16.onnx");
        model.SaveOnnx(half, OnnxPrecision.Float16);
        using ImageScoringTransformer halfScorer = s_set.Context.MultiLabel()
            .ScoreImages(half, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = s_set.Folder }).Fit(s_set.Validation);
        float[] a = model.Transform(s_set.Validation).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
        float[] b = halfScorer.Transform(s_set.Validation).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
        Assert.HasCount(a.Length, b);
        Bounds.AtMost(1e-2, Bounds.MaxAbsDifference(a, b));
    }

    [TestMethod]
    public void AResumedRunInTheSamePrecisionEndsBitIdenticalAndTheOtherPrecisionResumesToo()
    {
        using var whole = new ScratchDirectory();
        using var broken = new ScratchDirectory();
        TResNetAslOptions uninterrupted = Options(2, TrainingPrecision.BFloat16);
        uninterrupted.CheckpointDirectory = whole.Path;
        uninterrupted.CheckpointEverySteps = 4;
        using TResNetAslTransformer reference = s_set.Context.MultiLabel().TResNetAsl(uninterrupted).Fit(s_set.Train);

        TResNetAslOptions crashing = Options(2, TrainingPrecision.BFloat16);
        crashing.CheckpointDirectory = broken.Path;
        crashing.CheckpointEverySteps = 4;
        crashing.Progress = new Recorder(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Epoch == 2 && p.Step == 6)
            {
                throw new OperationCanceledException("simulated crash");
            }
        });
        Assert.ThrowsExactly<OperationCanceledException>(() => s_set.Context.MultiLabel().TResNetAsl(crashing).Fit(s_set.Train));
        string checkpoint = Path.Combine(broken.Path, TrainingCheckpoint.FileName);
        string copy = Path.Combine(broken.Path, "float32-resume");
        Directory.CreateDirectory(copy);
        File.Copy(checkpoint, Path.Combine(copy, TrainingCheckpoint.FileName));

        TResNetAslOptions resuming = Options(2, TrainingPrecision.BFloat16);
        resuming.CheckpointDirectory = broken.Path;
        resuming.CheckpointEverySteps = 4;
        using TResNetAslTransformer resumed = s_set.Context.MultiLabel().TResNetAsl(resuming).Fit(s_set.Train);
        Dictionary<string, Tensor> expected = reference.Network.state_dict();
        foreach ((string key, Tensor value) in resumed.Network.state_dict())
        {
            Assert.IsTrue(value.eq(expected[key]).all().item<bool>(), $"{key} differs after resuming in bfloat16");
        }

        TResNetAslOptions inFloat32 = Options(2, TrainingPrecision.Float32);
        inFloat32.CheckpointDirectory = copy;
        inFloat32.CheckpointEverySteps = 4;
        using TResNetAslTransformer other = s_set.Context.MultiLabel().TResNetAsl(inFloat32).Fit(s_set.Train);
        Assert.AreEqual(TrainingPrecision.Float32, other.Precision);
        Assert.HasCount(2, other.History.Epochs);
        Assert.IsTrue(double.IsFinite(other.History.Epochs[^1].Loss));
    }

    [TestMethod]
    public void ACpuWithoutBFloat16InstructionsTrainsInFloat32WithAWarning()
    {
        var ml = new MLContext(seed: 1);
        List<string> messages = Collect(ml, e => e.Kind == ChannelMessageKind.Warning);
        BFloat16Support.Override = () => null;
        try
        {
            TResNetAslOptions options = Options(1, TrainingPrecision.BFloat16);
            options.ForceBFloat16 = false;
            using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
            Assert.AreEqual(TrainingPrecision.Float32, model.Precision);
            Assert.AreEqual(1, messages.Count(m => m.Contains("no bfloat16 instructions", StringComparison.Ordinal)), string.Join("\n", messages));

            options.ForceBFloat16 = true;
            using TResNetAslTransformer forced = ml.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
            Assert.AreEqual(TrainingPrecision.BFloat16, forced.Precision, "the user insisted");
        }
        finally
        {
            BFloat16Support.Override = null;
        }
    }

    /// <summary>
    /// Auto is float32 without bfloat16 instructions (no measurement), and otherwise the precision its probe measured
    /// faster, logged with both timings; the probe leaves the run as it was: the same seed trained in the precision it
    /// chose gives the same weights (the probe's own network and random images restore libtorch's random state).
    /// </summary>
    [TestMethod]
    public void AutoTakesTheMeasuredPrecisionAndLeavesTheRunAsIs()
    {
        var ml = new MLContext(seed: 0);
        List<string> messages = Collect(ml, e => e.Message.Contains("Precision Auto", StringComparison.Ordinal));
        BFloat16Support.Override = () => null;
        try
        {
            TResNetAslOptions options = Options(1, TrainingPrecision.Auto);
            options.ForceBFloat16 = false;
            using TResNetAslTransformer plain = ml.MultiLabel().TResNetAsl(options).Fit(s_set.Train);
            Assert.AreEqual(TrainingPrecision.Float32, plain.Precision);
            Assert.IsTrue(messages.Any(m => m.Contains("no bfloat16 instructions", StringComparison.Ordinal)), string.Join("\n", messages));
        }
        finally
        {
            BFloat16Support.Override = null;
        }

        messages.Clear();
        TResNetAslOptions auto = Options(1, TrainingPrecision.Auto);
        using TResNetAslTransformer measured = ml.MultiLabel().TResNetAsl(auto).Fit(s_set.Train);
        Assert.AreNotEqual(TrainingPrecision.Auto, measured.Precision);
        Assert.IsTrue(messages.Any(m => m.Contains("ms a pass", StringComparison.Ordinal)), string.Join("\n", messages));
        using TResNetAslTransformer chosen = ml.MultiLabel().TResNetAsl(Options(1, measured.Precision)).Fit(s_set.Train);
        Dictionary<string, Tensor> a = measured.Network.state_dict(), b = chosen.Network.state_dict();
        foreach ((string name, Tensor value) in a)
        {
            // The same arithmetic in the same order: only oneDNN's thread split could differ, which moves float32 sums by
            // a few ulps; a probe that moved the random state would give another initialisation (differences of order 1).
            double difference = (value.to(ScalarType.Float64) - b[name].to(ScalarType.Float64)).abs().max().item<double>();
            Bounds.AtMost(1e-4, difference, $"{name}: the run trained in the chosen precision differs from the Auto run");
        }
    }

    /// <summary>The context's log messages that <paramref name="keep"/> picks, as they arrive (from any thread).</summary>
    private static List<string> Collect(MLContext ml, Func<LoggingEventArgs, bool> keep)
    {
        var messages = new List<string>();
        ml.Log += (_, e) =>
        {
            if (keep(e))
            {
                lock (messages)
                {
                    messages.Add(e.Message);
                }
            }
        };
        return messages;
    }

    private sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
