using Miil.ML.Images;
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

    /// <summary>
    /// ML.NET's ResNet18 reads BGR in 0-255; augmentation must edit the same picture it edits for TResNet's
    /// RGB in [0, 1] (before the fix its clamps to [0, 1] and its grey fill wiped such images out). Every
    /// operation, on the same 8-bit picture in both forms: the results agree within float rounding of the
    /// divide by 255 and back (255 x a few ulp of 1).
    /// </summary>
    [TestMethod]
    public void EveryOperationEditsBgrIn0To255AsItEditsRgbIn0To1()
    {
        var scratch = new float[Size * Size];
        int n = Size * Size;
        float[] unit = Gradient().Select(v => MathF.Round(v * 255) / 255).ToArray();
        var mlnet = new ImagePreprocessing { ImageSize = Size, ChannelOrder = ColorChannelOrder.Bgr, Scale = 1f };
        foreach (Augmentation.Operation operation in Enum.GetValues<Augmentation.Operation>())
        {
            float[] rgb = (float[])unit.Clone();
            // The same picture as ML.NET's ResNet18 reads it: planes blue, green, red, in 0-255.
            float[] bgr = [.. unit.Skip(2 * n).Take(n), .. unit.Skip(n).Take(n), .. unit.Take(n)];
            for (int i = 0; i < bgr.Length; i++)
            {
                bgr[i] = MathF.Round(bgr[i] * 255);
            }
            Augmentation.Run(operation, 0.6, 1, rgb, Size, scratch);
            Augmentation.ToUnitRgb(bgr, Size, mlnet);
            Augmentation.Run(operation, 0.6, 1, bgr, Size, scratch);
            Augmentation.FromUnitRgb(bgr, Size, mlnet);
            for (int c = 0; c < 3; c++)
            {
                for (int i = 0; i < n; i++)
                {
                    float expected = 255 * rgb[(2 - c) * n + i], actual = bgr[c * n + i];
                    Assert.AreEqual(expected, actual, 1e-3, $"{operation}: plane {c}, pixel {i}");
                }
            }
        }
        var tresnet = ImagePreprocessing.Unnormalized(Size);
        float[] same = (float[])unit.Clone();
        Augmentation.ToUnitRgb(same, Size, tresnet);
        CollectionAssert.AreEqual(unit, same, "TResNet's input is already RGB in [0, 1]");
    }
}
