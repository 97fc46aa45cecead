using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Models.ResNet;
using static TorchSharp.torch;
using ResNetModel = Miil.ML.TorchSharp.Models.ResNet.ResNet;
using Tensor = TorchSharp.torch.Tensor;

namespace Miil.ML.TorchSharp.Tests.Models.ResNet;

/// <summary>
/// ML.NET's ImageNet ResNet18 (the NuGet package this test project downloads): found where NuGet put it,
/// mapped onto <see cref="ResNetArchitecture.MLNetResNet18"/> by walking its graph, its pooled features are
/// what ONNX Runtime computes from the package's own two files (preprocessing, then the network) on the
/// same images: max |difference| within 1e-4 of the features' largest magnitude (float32 sums over up to
/// 4,608 terms, done in another order by oneDNN and by ONNX Runtime's MLAS).
/// </summary>
[TestClass]
public sealed class MLNetResNet18Tests
{
    [TestMethod]
    public void ItsFeaturesAreOnnxRuntimesRunOfThePackage()
    {
        string network = MLNetResNet18.Find();
        string preprocessing = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(network))!, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        using var model = new ResNetModel(ResNetArchitecture.MLNetResNet18, classCount: 3);
        model.LoadWeights(network);
        model.eval();

        using var prep = new InferenceSession(preprocessing);
        using var resnet = new InferenceSession(network);
        foreach (ulong seed in new ulong[] { 1, 2 })
        {
            using var scope = NewDisposeScope();
            // RGB pixels in 0-255, planar, as ML.NET's ExtractPixels gives them to the package's preprocessing.
            Tensor rgb = (rand([1, 3, 224, 224], generator: new Generator(seed)) * 255).floor();
            float[] pixels = rgb.data<float>().ToArray();
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> prepared = prep.Run(
                [NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), new DenseTensor<float>(pixels, [1, 3, 224, 224]))]);
            var bgrMinusMean = (DenseTensor<float>)prepared.Single().AsTensor<float>();
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> features = resnet.Run(
                [NamedOnnxValue.CreateFromTensor(resnet.InputMetadata.Keys.Single(), bgrMinusMean)]);
            float[] expected = features.Single().AsTensor<float>().ToArray();

            // Ours takes BGR in 0-255 (the preprocessing record swaps the channels) and subtracts the mean inside.
            Tensor ours = model.ForwardFeatures(rgb.flip(1));
            float[] actual = ours.data<float>().ToArray();
            Assert.HasCount(expected.Length, actual);
            double scale = expected.Max(v => Math.Abs(v)), worst = Bounds.MaxAbsDifference(expected, actual);
            Bounds.AtMost(1e-4, worst / scale, $"seed {seed}: max abs {worst:E2} of features up to {scale:F2}");
        }
    }

    [TestMethod]
    public void AnotherGraphOrAnotherArchitectureIsRefusedByName()
    {
        using var scratch = new ScratchDirectory();
        using var tiny = new ResNetModel(ResNetArchitecture.Custom([1, 1, 1, 1], basePlanes: 8), 3);
        string onnx = scratch.File("not-mlnet.onnx");
        tiny.SaveOnnx(onnx, imageSize: 32);
        using var model = new ResNetModel(ResNetArchitecture.MLNetResNet18, 3);
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => model.LoadWeights(onnx));
        StringAssert.Contains(e.Message, onnx);
        StringAssert.Contains(e.Message, "ML.NET's ResNet18");
        using var resnet18 = new ResNetModel(ResNetArchitecture.ResNet18, 3);
        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => resnet18.LoadWeights(MLNetResNet18.Find())).Message, "MLNetResNet18");
    }
}
