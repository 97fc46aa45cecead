using Miil.ML.Testing;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>The training checkpoint knows its format version: another version is refused, naming the file and both versions.</summary>
[TestClass]
public sealed class TrainingCheckpointTests
{
    [TestMethod]
    [DataRow(99, "newer")]
    [DataRow(1, "earlier")]
    public void AStateOfAnotherVersionIsRefusedNeverMisread(int version, string word)
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("training.safetensors");
        using Tensor t = zeros(2);
        SafetensorsFile.Write(path, [("model.x", t)], new Dictionary<string, string> { ["miil.training"] = $"{{\"Version\":{version},\"Epoch\":3}}" });
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TrainingCheckpoint.Load(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, $"version {version}");
        StringAssert.Contains(e.Message, TrainingState.CurrentVersion.ToString());
        StringAssert.Contains(e.Message, word);
        Assert.ThrowsExactly<CheckpointFormatException>(() => TrainingCheckpoint.SeedOf(path));
    }
}
