using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.Repository.Tests.Build;

/// <summary>TorchSharp's native libraries load and compute in this test host (after the libstdc++ step).</summary>
[TestClass]
public sealed class TorchSharpRuntimeTests
{
    [TestMethod]
    public void Conv2dForwardComputesOnCpu()
    {
        using var scope = NewDisposeScope();
        // A 3x3 box filter over ones: 9 inside, 6 on edges, 4 in corners (zero padding 1).
        Tensor x = ones(1, 1, 4, 4);
        Tensor w = ones(1, 1, 3, 3);
        Tensor y = nn.functional.conv2d(x, w, padding: [1, 1]);
        float[] expected = [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4];
        CollectionAssert.AreEqual(expected, y.flatten().data<float>().ToArray());
    }

    [TestMethod]
    public void AutogradRunsThroughNativeCode()
    {
        using var scope = NewDisposeScope();
        Tensor x = tensor(new[] { 1.0, 2.0, 3.0 }).requires_grad_();
        (x * x).sum().backward();
        CollectionAssert.AreEqual(new[] { 2.0, 4.0, 6.0 }, x.grad!.data<double>().ToArray());
    }
}
