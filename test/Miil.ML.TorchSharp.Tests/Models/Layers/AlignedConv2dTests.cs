using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.Layers;
using Miil.ML.TorchSharp.Models.ResNet;
using ResNetModel = Miil.ML.TorchSharp.Models.ResNet.ResNet;
using Miil.ML.TorchSharp.Models.TResNet;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.Layers;

/// <summary>
/// Convolutions whose channel counts are not multiples of oneDNN's 16-channel block, batched (libtorch
/// takes oneDNN's kernel for them), as the networks run them: output, input gradient and weight gradient
/// against float64 under the rounding bound of <see cref="KernelBound"/>, in float32 and bfloat16. On the
/// AMD EPYC host libtorch's own convolution misses it by far (relative error 0.16 to 0.5 or NaN) at every
/// width below; <see cref="AlignedConv2d"/> must not.
/// </summary>
[TestClass]
public sealed class AlignedConv2dTests
{
    private static readonly (string What, long[] Input, long[] Weight, int Stride, int Padding, bool InputGradient)[] Shapes =
    [
        ("TResNet-L's first stage 3x3 (76 channels)", [8, 76, 8, 8], [76, 76, 3, 3], 1, 1, true),
        ("TResNet-L's second stage 3x3 (152 channels)", [8, 152, 6, 6], [152, 152, 3, 3], 1, 1, true),
        ("TResNet-L's stem 3x3 (48 to 76)", [8, 48, 8, 8], [76, 48, 3, 3], 1, 1, true),
        ("a custom width 3x3 (19 channels)", [8, 19, 6, 6], [19, 19, 3, 3], 1, 1, true),
        ("ResNet at base width 8, 3x3", [8, 8, 8, 8], [8, 8, 3, 3], 1, 1, true),
        ("ResNet at base width 24, 3x3 stride 2", [8, 24, 8, 8], [48, 24, 3, 3], 2, 1, true),
        ("ResNet's 7x7 stride-2 stem on the image into 8 channels", [8, 3, 16, 16], [8, 3, 7, 7], 2, 3, false),
        ("1x1 expansion 76 to 304", [8, 76, 6, 6], [304, 76, 1, 1], 1, 0, true),
    ];

    public static IEnumerable<object[]> Cases()
        => from shape in Shapes
           from type in new[] { ScalarType.Float32, ScalarType.BFloat16 }
           select new object[] { shape.What, type, shape.Input, shape.Weight, shape.Stride, shape.Padding, shape.InputGradient };

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void UnalignedChannelsStayWithinTheRoundingBound(string what, ScalarType type, long[] inputShape, long[] weightShape, int stride, int padding, bool inputGradient)
    {
        Tensor Conv(Tensor x, Tensor w) => AlignedConv2d.Apply(x, w, stride, padding);
        long kernel = weightShape[1] * weightShape[2] * weightShape[3];
        long outputs = weightShape[0] * weightShape[2] * weightShape[3];
        long positions = inputShape[0] * ((inputShape[2] + 2 * padding - weightShape[2]) / stride + 1) * ((inputShape[3] + 2 * padding - weightShape[3]) / stride + 1);
        KernelBound.CheckBilinear($"{what}, {type}", type, Conv, inputShape, weightShape, Math.Max(kernel, Math.Max(outputs, positions)), inputGradient);
    }

    [TestMethod]
    public void TheModuleHasConv2dsKeyAndRunsThroughCall()
    {
        using var scope = NewDisposeScope();
        using var conv = new AlignedConv2d(20, 12, 3, stride: 2, padding: 1);
        CollectionAssert.AreEqual(new[] { "weight" }, conv.state_dict().Keys.ToArray());
        CollectionAssert.AreEqual(new long[] { 12, 20, 3, 3 }, conv.Weight.shape);
        bool fired = false;
        conv.register_forward_hook((_, _, output) => { fired = true; return output; });
        Tensor x = randn(4, 20, 9, 9, generator: new Generator(7));
        Tensor y = conv.call(x);
        Assert.IsTrue(fired, "forward hooks fire");
        CollectionAssert.AreEqual(new long[] { 4, 12, 5, 5 }, y.shape, "the real output channels, at stride 2");
        Tensor exact = nn.functional.conv2d(x.to(ScalarType.Float64), conv.Weight.detach().to(ScalarType.Float64), strides: [2, 2], padding: [1, 1]);
        Tensor magnitude = nn.functional.conv2d(x.abs().to(ScalarType.Float64), conv.Weight.detach().abs().to(ScalarType.Float64), strides: [2, 2], padding: [1, 1]);
        KernelBound.AssertWithin("20 to 12, stride 2", ScalarType.Float32, y.detach(), exact, magnitude, 20 * 9);
    }

    /// <summary>
    /// Whole networks at unaligned widths, batches through TorchSharp in float32 against the same network
    /// in float64 (libtorch's float64 convolution is its own reference code, not oneDNN's): TResNet at
    /// TResNet-L's width factor (76 and 152 channels in its first stages) and ResNet at base width 8 (8 to
    /// 64 channels). Every weight and norm statistic is drawn at random first: TResNet's initialisation
    /// zeroes each block's last norm, which would hide every convolution inside the blocks. The logits and
    /// every parameter's gradient, in eval mode, must stay within 5e-3 of the largest float64 value. The
    /// per-kernel bound is the test above; here the bound only has to separate rounding from a wrong
    /// kernel: float32 rounding is gamma_n times the ratio of the sum of magnitudes to the magnitude of the
    /// sum (the stem's weight gradient sums n = 2048 positions: gamma = 1.2e-4, seen at 3e-4 of the
    /// largest value), a wrong kernel's error was 5e-2 to 0.5 of it, or NaN. (Eval mode, so that the norms
    /// are fixed affine maps: training mode's batch statistics on the last stages' 2x2 maps make the early
    /// gradients differences of near-equal terms, 1e-2 off in float32 by arithmetic alone.)
    /// </summary>
    [TestMethod]
    public void NetworksAtUnalignedWidthsComputeTheirFloat64LogitsAndGradients()
    {
        using var scope = NewDisposeScope();
        MultiLabelNetwork[] networks =
        [
            new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 1.2), classCount: 5),
            new ResNetModel(ResNetArchitecture.Custom([1, 1, 1, 1], basePlanes: 8), classCount: 5),
        ];
        // The kernel reads memory it never wrote (how wrong it is depends on what was there): several
        // batches, so that a first call on freshly zeroed pages is not the only one.
        Tensor[] batches = [.. new[] { 32, 64, 96 }.Select((size, i) => randn(8, 3, size, size, generator: new Generator((ulong)(12 + i))))];
        foreach (MultiLabelNetwork network in networks)
        {
            using (network)
            {
                DrawEveryWeight(network, seed: 13);
                network.eval();
                Tensor[] logits = [.. batches.Select(b => network.call(b))];
                Dictionary<string, Tensor> gradients = Gradients(network, batches[1]);
                network.to(ScalarType.Float64);
                for (int i = 0; i < batches.Length; i++)
                {
                    AssertClose($"{network.Family} {network.Describe()}: logits at {batches[i].shape[2]} px", logits[i], network.call(batches[i].to(ScalarType.Float64)));
                }
                foreach ((string name, Tensor exact) in Gradients(network, batches[1].to(ScalarType.Float64)))
                {
                    AssertClose($"{network.Family} {network.Describe()}: gradient of {name}", gradients[name], exact);
                }
            }
        }
    }

    /// <summary>The gradient of the logits' sum of squares with respect to every parameter, detached.</summary>
    private static Dictionary<string, Tensor> Gradients(MultiLabelNetwork network, Tensor batch)
    {
        network.zero_grad();
        network.call(batch).square().sum().backward();
        return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
    }

    /// <summary>Weights at about unit gain, norms with scales and statistics away from 1 and 0.</summary>
    private static void DrawEveryWeight(MultiLabelNetwork network, int seed)
    {
        var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach ((string name, Tensor parameter) in network.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(network.named_buffers()))
        {
            if (!parameter.is_floating_point())
            {
                continue;
            }
            if (parameter.dim() > 1)
            {
                parameter.copy_(randn(parameter.shape, generator: generator) / Math.Sqrt(parameter[0].numel()));
            }
            else if (name.EndsWith("running_var", StringComparison.Ordinal) || name.EndsWith(".weight", StringComparison.Ordinal))
            {
                parameter.copy_(rand(parameter.shape, generator: generator) + 0.5);
            }
            else
            {
                parameter.copy_(randn(parameter.shape, generator: generator) * 0.1);
            }
        }
    }

    /// <summary>Element by element within 5e-3 of the largest magnitude of <paramref name="exact"/>, and finite.</summary>
    private static void AssertClose(string what, Tensor computed, Tensor exact)
    {
        double error = (computed.to(ScalarType.Float64) - exact).abs().max().item<double>() / exact.abs().max().item<double>();
        Bounds.Below(5e-3, error, $"{what}: largest error relative to the largest value");
    }
}
