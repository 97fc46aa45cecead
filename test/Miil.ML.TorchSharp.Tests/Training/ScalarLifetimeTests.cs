using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>
/// The training step under constant garbage collection: a Scalar freed during a native call (the
/// TorchSharp hazard Numerics.Scalars describes) shows up here as a libtorch error or a wrong value.
/// The race is timing-dependent: with the hazard put back into one block, about half of 150-step runs
/// failed; 300 steps make a miss unlikely.
/// </summary>
[TestClass]
public sealed class ScalarLifetimeTests
{
    [TestMethod]
    public void TrainingStepsSurviveCollectionsDuringNativeCalls()
    {
        random.manual_seed(3);
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 4);
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter, AdamOptimizer.Decays(p.name, p.parameter))).ToList();
        using var adam = new AdamOptimizer(parameters, 1e-4, WeightDecayKind.CoupledL2);
        using var ema = new ModelEma(model, 0.9);
        using var asl = new AsymmetricLoss(new AsymmetricLossOptions { IgnoreLabel = true });
        using var stop = new CancellationTokenSource();
        Task collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        try
        {
            using Tensor x = rand(4, 3, 32, 32);
            using Tensor y = tensor(new float[] { 1, 0, -1, 0, 0, 1, 0, 0, 1, 1, 0, -1, 0, 0, 0, 1 }, [4, 4]);
            model.train();
            for (int step = 0; step < 300; step++)
            {
                using var scope = NewDisposeScope();
                model.zero_grad();
                Tensor logits = model.forward(x);
                Tensor loss = asl.forward(logits, y);
                loss.backward();
                adam.Step(1e-3, 0.9);
                ema.Update();
                Assert.IsTrue(float.IsFinite(loss.item<float>()), $"step {step}");
            }
        }
        finally
        {
            stop.Cancel();
            collector.Wait();
        }
    }
}
