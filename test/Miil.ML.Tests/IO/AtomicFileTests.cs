using Miil.ML.IO;
using Miil.ML.Testing;

namespace Miil.ML.Tests.IO;

[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void AFailedWriteKeepsTheOldFileAndLeavesNothingBeside()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("model.bin");
        AtomicFile.Write(path, s => s.Write([1, 2, 3]));
        Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([9, 9]);
            throw new IOException("disk full");
        }));
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(scratch.Path));
    }

    [TestMethod]
    public void LeftoversOfAKilledWriterAreRemovedAndNothingElse()
    {
        using var scratch = new ScratchDirectory();
        string path = scratch.File("training.safetensors");
        AtomicFile.Write(path, s => s.Write([7]));
        // What a writer killed before its rename leaves: the hidden temporary sibling.
        string leftover = scratch.File($".training.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(leftover, [1]);
        string otherFiles = scratch.File($".other.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(otherFiles, [1]);
        string similar = scratch.File("training.safetensors.tmp");
        File.WriteAllBytes(similar, [1]);

        Assert.AreEqual(1, AtomicFile.RemoveLeftovers(path));
        Assert.IsFalse(File.Exists(leftover));
        Assert.IsTrue(File.Exists(path) && File.Exists(otherFiles) && File.Exists(similar), "only the file's own leftovers go");
        Assert.AreEqual(0, AtomicFile.RemoveLeftovers(scratch.File("absent/none.bin")));
    }
}
