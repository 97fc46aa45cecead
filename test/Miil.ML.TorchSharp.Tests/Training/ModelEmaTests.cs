using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class ModelEmaTests
{
    [TestMethod]
    public void AveragesParametersAndBatchNormBuffersAndCopiesCounters()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 3);
        using var ema = new ModelEma(model, 0.9);
        Dictionary<string, Tensor> before = ema.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        // One training forward moves the batch-norm running statistics and counters of the model.
        model.train();
        using (Tensor _ = model.forward(rand(4, 3, 32, 32)))
        {
        }
        using (no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.add_(ones_like(p));
            }
        }
        ema.Update();
        Dictionary<string, Tensor> now = model.state_dict();
        foreach ((string key, Tensor value) in ema.Model.state_dict())
        {
            Tensor expected = value.is_floating_point() ? before[key] * 0.9 + now[key] * 0.1 : now[key];
            Assert.IsTrue(value.allclose(expected, rtol: 1e-5, atol: 1e-6), key);
        }
        string runningMean = now.Keys.First(k => k.EndsWith("running_mean", StringComparison.Ordinal));
        Assert.IsFalse(before[runningMean].allclose(ema.Model.state_dict()[runningMean]), "batch-norm buffers follow the model");
        foreach (Tensor t in before.Values)
        {
            t.Dispose();
        }
    }
}
