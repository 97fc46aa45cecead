using Miil.ML.Cli.Commands;
using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.Cli.Tests.Commands;

/// <summary>What <c>--model</c> names: a file, a catalogue entry, a hub repository, a named or custom architecture, or nothing known.</summary>
[TestClass]
public sealed class ModelChoiceTests
{
    [TestMethod]
    public void ArchitecturesAreNamedAsUsersWriteThem()
    {
        Assert.AreEqual(TResNetArchitecture.M, ModelChoice.Resolve("tresnet-m").Architecture);
        Assert.AreEqual(TResNetArchitecture.L, ModelChoice.Resolve("tresnet_l").Architecture);
        Assert.AreEqual(ResNetArchitecture.ResNet50, ModelChoice.Resolve("resnet50").Architecture);
        Assert.IsNull(ModelChoice.Resolve("tresnet-m").PretrainedWeights, "an architecture trains from scratch");
    }

    [TestMethod]
    public void CustomNetworksTakeBlocksPerStageAndAWidth()
    {
        ModelChoice tresnet = ModelChoice.Resolve("tresnet:1,2,1,1x0.5");
        Assert.AreEqual(TResNetArchitecture.Custom([1, 2, 1, 1], 0.5), tresnet.Architecture);
        Assert.AreEqual("Miil.ML.TorchSharp.Models.TResNet.TResNetArchitecture.Custom([1, 2, 1, 1], 0.5)", tresnet.ArchitectureCode);
        Assert.AreEqual(ResNetArchitecture.Custom([1, 1, 1, 1], basePlanes: 16), ModelChoice.Resolve("resnet:1,1,1,1x16").Architecture);
    }

    [TestMethod]
    public void CatalogueNamesAndHubReferencesAreWeights()
    {
        PretrainedModel entry = PretrainedModels.All.First(m => m.Unsupported is null);
        ModelChoice choice = ModelChoice.Resolve(entry.Name);
        Assert.AreEqual(entry.Name, choice.PretrainedWeights);
        Assert.AreEqual(entry.ImageSize, choice.ImageSize);
        Assert.AreEqual("hf-hub:timm/tresnet_m.miil_in21k", ModelChoice.Resolve("hf-hub:timm/tresnet_m.miil_in21k").PretrainedWeights);
    }

    [TestMethod]
    public void AnExistingFileIsACheckpoint()
    {
        using var scratch = new ScratchDirectory();
        string file = scratch.File("weights.safetensors");
        File.WriteAllBytes(file, [0]);
        Assert.AreEqual(Path.GetFullPath(file), ModelChoice.Resolve(file).PretrainedWeights);
    }

    [TestMethod]
    [DataRow("tresnet-q", "neither a checkpoint file, a catalogue name")]
    [DataRow("weights/missing.safetensors", "does not exist")]
    public void AnUnknownModelIsAnInputErrorListingWhatIsKnown(string text, string expected)
    {
        var e = Assert.ThrowsExactly<CliException>(() => ModelChoice.Resolve(text));
        StringAssert.Contains(e.Message, expected);
        Assert.AreEqual(ExitCodes.Input, e.ExitCode);
    }
}
