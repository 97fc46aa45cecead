using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Tests.Training;
using Miil.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Losses;

/// <summary>The training losses: reductions applied by the loss, sums for reports, label checks, and a loss of the user's own in Fit.</summary>
[TestClass]
public sealed class TrainingLossesTests
{
    private static (Tensor Logits, Tensor Targets) Batch()
    {
        var generator = new Generator(3);
        Tensor logits = (randn([4, 5], generator: generator) * 2).requires_grad_();
        Tensor targets = tensor(new float[] { 1, 0, 0, -1, 0, 0, 1, 1, 0, 0, 0, 0, -1, 0, 1, 1, 0, 0, 0, 0 }, [4, 5]);
        return (logits, targets);
    }

    [TestMethod]
    [DataRow(LossReduction.Sum)]
    [DataRow(LossReduction.Mean)]
    [DataRow(LossReduction.BatchMean)]
    public void AsymmetricReducesAsConfiguredAndReportsTheSum(LossReduction reduction)
    {
        using var scope = NewDisposeScope();
        (Tensor logits, Tensor targets) = Batch();
        using var reference = new AsymmetricLoss(new AsymmetricLossOptions { IgnoreLabel = true, Reduction = reduction });
        Tensor expected = reference.forward(logits, targets);
        Tensor expectedGrad = autograd.grad([expected], [logits])[0];

        TrainingLossValue value = TrainingLosses.Asymmetric(new AsymmetricLossOptions { Reduction = reduction }).Compute(logits, targets);
        Assert.IsNull(value.Objective, "ASL gives its gradient, not a graph");
        Assert.IsTrue(value.LogitGradient!.allclose(expectedGrad, rtol: 1e-5, atol: 1e-7), "gradient of the reduced loss");

        // Back-propagated from the logits, it is what the module's own graph gives.
        logits.backward([value.LogitGradient!]);
        Assert.IsTrue(logits.grad!.allclose(expectedGrad, rtol: 1e-5, atol: 1e-7));
        using var summed = new AsymmetricLoss(new AsymmetricLossOptions { IgnoreLabel = true });
        Assert.AreEqual(summed.forward(logits, targets).item<float>(), value.Sum, 1e-4, "the report is the sum over the batch");
    }

    [TestMethod]
    public void SingleLabelTakesTheOnePositiveAsTheClassAndRefusesOtherRows()
    {
        using var scope = NewDisposeScope();
        Tensor logits = randn([3, 4], generator: new Generator(4)).requires_grad_();
        float[] labels = [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1];
        ITrainingLoss loss = TrainingLosses.SingleLabelAsymmetric();
        loss.CheckLabels(labels, 4, i => $"row {i}");
        TrainingLossValue value = loss.Compute(logits, tensor(labels, [3, 4]));
        using var reference = new AsymmetricLossSingleLabel();
        Assert.AreEqual(reference.forward(logits, tensor(new long[] { 1, 0, 3 })).item<float>(), value.Objective!.item<float>(), 1e-5f);
        Assert.AreEqual(3 * value.Objective.item<float>(), value.Sum, 1e-4, "the default reduction is the mean over images");

        var e = Assert.ThrowsExactly<InvalidDataException>(() => loss.CheckLabels([0, 1, 1, 0, 1, 0, 0, 0], 4, i => $"training row {i} ('x.png')"));
        StringAssert.Contains(e.Message, "training row 0 ('x.png')");
        StringAssert.Contains(e.Message, "2 positives");
        Assert.ThrowsExactly<InvalidDataException>(() => loss.CheckLabels([1, 0, 0, 0, 1, 0, 0, -1], 4, i => $"row {i}"));
    }

    [TestMethod]
    public void ReductionNoneCannotTrain()
    {
        Assert.ThrowsExactly<ArgumentException>(() => TrainingLosses.Asymmetric(new AsymmetricLossOptions { Reduction = LossReduction.None }));
        Assert.ThrowsExactly<ArgumentException>(() => TrainingLosses.SingleLabelAsymmetric(new AsymmetricLossSingleLabelOptions { Reduction = LossReduction.None }));
    }

    [TestMethod]
    public void FitTrainsWithALossOfTheUsersOwnAndRefusesLabelsItCannotTake()
    {
        using var set = new ShapesSet(train: 64, validation: 32);
        var mine = new SquaredError();
        TResNetAslOptions options = set.Options(epochs: 2);
        options.LossFunction = mine;
        using (TResNetAslTransformer model = set.Context.MultiLabel().TResNetAsl(options).Fit(set.Train))
        {
            Assert.AreEqual(2 * ((64 + 15) / 16), mine.Calls, "one call per step");
            Assert.IsTrue(model.History.Epochs.All(h => double.IsFinite(h.Loss)));
            // Each epoch's loss is its steps' sums over its images (64 images, 4 steps): the same additions, in double.
            for (int epoch = 0; epoch < 2; epoch++)
            {
                double mean = mine.Sums.Skip(4 * epoch).Take(4).Sum() / 64;
                Assert.AreEqual(mean, model.History.Epochs[epoch].Loss, 1e-12 * Math.Abs(mean), $"epoch {epoch + 1}: the history reports the loss's own sums");
            }
        }

        // Synthetic shapes have several objects per image: single-label ASL refuses them, naming a row.
        options.LossFunction = TrainingLosses.SingleLabelAsymmetric();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => set.Context.MultiLabel().TResNetAsl(options).Fit(set.Train));
        StringAssert.Contains(e.Message, "training row");
    }

    /// <summary>A loss written as a user would: squared error of sigmoid probabilities, ignored labels left out.</summary>
    private sealed class SquaredError : ITrainingLoss
    {
        // Held for the life of the loss: a temporary Scalar could be collected during the native call.
        private readonly Scalar _zero = 0.ToScalar();

        public int Calls => Sums.Count;

        public List<double> Sums { get; } = [];

        public string Description => "squared error";

        public TrainingLossValue Compute(Tensor logits, Tensor targets)
        {
            Tensor known = targets.ge(0);
            Tensor sum = (logits.sigmoid() - targets).square().masked_fill(known.logical_not(), _zero).sum();
            double value = sum.item<float>();
            Sums.Add(value);
            return new TrainingLossValue(sum, value);
        }
    }
}
