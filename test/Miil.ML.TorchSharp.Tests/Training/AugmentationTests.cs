using Miil.ML.TorchSharp.Training;

namespace Miil.ML.TorchSharp.Tests.Training;

[TestClass]
public sealed class AugmentationTests
{
    private const int Size = 32;

    private static float[] Gradient()
    {
        var image = new float[3 * Size * Size];
        for (int i = 0; i < image.Length; i++)
        {
            // Red rises left to right, green falls, blue is flat: a coloured image (grey would hide the colour operations).
            float v = 0.2f + 0.6f * (i % Size) / (Size - 1);
            image[i] = (i / (Size * Size)) switch { 0 => v, 1 => 1 - v, _ => 0.5f };
        }
        return image;
    }

    [TestMethod]
    public void CutoutPaintsOneBoxOfHalfTheSideInOneColour()
    {
        float[] image = Gradient();
        Augmentation.Cutout(image, Size, 0.5, new Random(3));
        // Count pixels differing from the original per row; the box spans at most 16 + 1 columns and rows.
        float[] original = Gradient();
        var changedRows = Enumerable.Range(0, Size).Where(y => Enumerable.Range(0, Size).Any(x => image[y * Size + x] != original[y * Size + x])).ToList();
        Assert.IsTrue(changedRows.Count is > 0 and <= 17, $"{changedRows.Count} rows changed");
        float colour = image.Where((v, i) => i < Size * Size && v != original[i]).Distinct().Single();
        Assert.IsTrue(colour is >= 0 and <= 1);
    }

    [TestMethod]
    public void FlipTwiceIsIdentity()
    {
        float[] image = Gradient();
        Augmentation.FlipHorizontal(image, Size);
        Assert.AreEqual(0.8f, image[0], 1e-6f);
        Augmentation.FlipHorizontal(image, Size);
        CollectionAssert.AreEqual(Gradient(), image);
    }

    [TestMethod]
    public void EveryOperationKeepsPixelsInRangeAndTheSameDrawGivesTheSameImage()
    {
        var scratch = new float[Size * Size];
        foreach (Augmentation.Operation op in Enum.GetValues<Augmentation.Operation>())
        {
            float[] a = Gradient(), b = Gradient();
            Augmentation.Run(op, 0.5, 1, a, Size, scratch);
            Augmentation.Run(op, 0.5, 1, b, Size, scratch);
            CollectionAssert.AreEqual(a, b, op.ToString());
            Assert.IsTrue(a.All(v => v is >= 0 and <= 1), op.ToString());
            if (op != Augmentation.Operation.Identity)
            {
                CollectionAssert.AreNotEqual(Gradient(), a, $"{op} changed nothing");
            }
        }
    }

    [TestMethod]
    public void DrawsDependOnSeedEpochAndPositionOnly()
    {
        Assert.AreEqual(Augmentation.RandomFor(1, 2, 3).Next(), Augmentation.RandomFor(1, 2, 3).Next());
        Assert.AreNotEqual(Augmentation.RandomFor(1, 2, 3).Next(), Augmentation.RandomFor(1, 2, 4).Next());
        Assert.AreNotEqual(Augmentation.RandomFor(1, 2, 3).Next(), Augmentation.RandomFor(1, 3, 3).Next());
    }
}
