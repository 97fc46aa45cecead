using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Images;
using Miil.ML.Testing;
using SkiaSharp;

namespace Miil.ML.Tests.Images;

/// <summary>
/// The preprocessor decodes files with its own Skia calls; its pixels must be ML.NET's ImageAnalytics
/// chain's bit for bit (tolerance 0): the chain a saved model runs, so that training, batched scoring
/// and a plain <c>Model.Load</c> see the same input. Formats, alpha, grayscale, and sizes smaller,
/// larger, equal and not square.
/// </summary>
[TestClass]
public sealed class StockPixelParityTests
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    public static IEnumerable<object[]> Images()
    {
        foreach ((int w, int h) in new[] { (64, 64), (37, 53), (200, 90), (3, 2), (1, 1) })
        {
            yield return ["png", w, h, SKColorType.Rgba8888, SKAlphaType.Opaque];
            yield return ["jpeg", w, h, SKColorType.Rgba8888, SKAlphaType.Opaque];
        }
        yield return ["png", 50, 40, SKColorType.Rgba8888, SKAlphaType.Unpremul];
        yield return ["png", 45, 45, SKColorType.Gray8, SKAlphaType.Opaque];
        yield return ["jpeg", 45, 60, SKColorType.Gray8, SKAlphaType.Opaque];
        yield return ["webp", 41, 33, SKColorType.Rgba8888, SKAlphaType.Opaque];
        yield return ["webp", 41, 33, SKColorType.Rgba8888, SKAlphaType.Unpremul];
    }

    [TestMethod]
    [DynamicData(nameof(Images))]
    public void DecodedPixelsAreTheStockChainsBitForBit(string format, int width, int height, SKColorType type, SKAlphaType alpha)
    {
        using var scratch = new ScratchDirectory();
        string path = Write(scratch, format, width, height, type, alpha, seed: width * 31 + height);
        foreach (ImagePreprocessing preprocessing in new[]
        {
            ImagePreprocessing.Unnormalized(32),
            ImagePreprocessing.Unnormalized(Math.Max(width, 4)) with { ChannelOrder = ColorChannelOrder.Bgr },   // often the image's own size: no resize
            new ImagePreprocessing { ImageSize = 48, Scale = 1f },
        })
        {
            var ml = new MLContext(seed: 0);
            var ours = new float[preprocessing.Length];
            new ImagePreprocessor(ml, preprocessing).Fill([path], ours);
            float[] stock = StockPixels(ml, preprocessing, path);
            Assert.HasCount(stock.Length, ours);
            int mismatch = Enumerable.Range(0, ours.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(ours[i]) != BitConverter.SingleToInt32Bits(stock[i]), -1);
            Assert.AreEqual(-1, mismatch, $"{format} {width}x{height} {type} {alpha} -> {preprocessing}: first difference at {mismatch}");
        }
    }

    [TestMethod]
    [DataRow("png")]
    [DataRow("jpeg")]
    public void ATruncatedFileIsRefusedWhereTheStockChainDecodesItWithBlackRows(string format)
    {
        using var scratch = new ScratchDirectory();
        string whole = Write(scratch, format, 96, 96, SKColorType.Rgba8888, SKAlphaType.Opaque, seed: 9);
        byte[] bytes = File.ReadAllBytes(whole);
        string cut = scratch.File("cut." + format);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var ml = new MLContext(seed: 0);
        ImagePreprocessing preprocessing = ImagePreprocessing.Unnormalized(32);

        // What the issue reported: ImageAnalytics decodes the first half and leaves the rest black.
        float[] stock = StockPixels(ml, preprocessing, cut);
        Assert.IsTrue(stock.Skip(stock.Length - 32).All(v => v == 0), "the stock chain fills missing rows with zeros");

        var pre = new ImagePreprocessor(ml, preprocessing);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => pre.Fill([cut], new float[pre.Length]));
        StringAssert.Contains(e.Message, cut);
        StringAssert.Contains(e.Message, "truncated");
        InvalidOperationException?[] errors = pre.FillEach([whole, cut], new float[2 * pre.Length]);
        Assert.IsNull(errors[0]);
        Assert.IsNotNull(errors[1]);
    }

    internal static float[] StockPixels(MLContext ml, ImagePreprocessing preprocessing, string path)
    {
        IDataView data = ml.Data.LoadFromEnumerable([new PathRow { ImagePath = path }]);
        IDataView pixels = ImagePreprocessor.StockChain(ml, preprocessing, null, "ImagePath", "Pixels", fromPaths: true).Fit(data).Transform(data);
        return pixels.GetColumn<VBuffer<float>>("Pixels").Single().DenseValues().ToArray();
    }

    /// <summary>An image of seeded noise (every pixel different, so a wrong index or channel shows), encoded.</summary>
    internal static string Write(ScratchDirectory scratch, string format, int width, int height, SKColorType type, SKAlphaType alpha, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, type, alpha));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                byte a = alpha == SKAlphaType.Opaque ? (byte)255 : (byte)random.Next(256);
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), a));
            }
        }
        SKEncodedImageFormat encoding = format switch { "png" => SKEncodedImageFormat.Png, "jpeg" => SKEncodedImageFormat.Jpeg, _ => SKEncodedImageFormat.Webp };
        using SKData encoded = bitmap.Encode(encoding, 90);
        string path = scratch.File($"{format}-{width}x{height}-{type}-{alpha}.{format}");
        File.WriteAllBytes(path, encoded.ToArray());
        return path;
    }
}
