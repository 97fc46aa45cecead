using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>The report's "network" line: the network's description in words, not raw JSON.</summary>
[TestClass]
public sealed class NetworkLineTests
{
    [TestMethod]
    public void ATResNetReadsAsItsSettings()
    {
        using var network = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.5), 12);
        string line = NetworkLine.Readable(network.Family, network.Describe());
        StringAssert.StartsWith(line, "TResNet: ");
        StringAssert.Contains(line, "layers [1,1,1,1]");
        StringAssert.Contains(line, "width factor 0.5");
        Assert.IsFalse(line.Contains('{') || line.Contains("null", StringComparison.Ordinal) || line.Contains("family", StringComparison.Ordinal), line);
    }

    [TestMethod]
    public void ADescriptionThatIsNotAJsonObjectIsKeptAsItIs()
    {
        Assert.AreEqual("Other plain text", NetworkLine.Readable("Other", "plain text"));
        Assert.AreEqual("Other [1,2]", NetworkLine.Readable("Other", "[1,2]"));
    }
}
