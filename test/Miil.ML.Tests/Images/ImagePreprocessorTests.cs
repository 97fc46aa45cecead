using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using Miil.ML.Images;
using SkiaSharp;

namespace Miil.ML.Tests.Images;

/// <summary>Image formats the scorer accepts and the files it refuses, named, before decoding anything large.</summary>
[TestClass]
public sealed class ImagePreprocessorTests
{
    private static string NewFolder() => Directory.CreateTempSubdirectory("miil-images-").FullName;

    [TestMethod]
    public void GrayscaleRgbaAnd16BitPngsBecomeRgbInput()
    {
        string folder = NewFolder();
        try
        {
            string gray = Write(folder, "gray.png", SKColorType.Gray8, new SKColor(120, 120, 120));
            string rgba = Write(folder, "rgba.png", SKColorType.Rgba8888, new SKColor(200, 30, 60, 128), SKAlphaType.Unpremul);
            string deep = Path.Combine(folder, "deep.png");
            File.WriteAllBytes(deep, Png16(24, 20, 10 * 257, 220 * 257, 90 * 257));
            var pre = new ImagePreprocessor(new MLContext(seed: 0), ImagePreprocessing.Unnormalized(16));
            float[] input = new float[3 * pre.Length];
            pre.Fill([gray, rgba, deep], input);
            Assert.IsTrue(input.All(v => v is >= 0 and <= 1), "scaled to [0, 1]");
            int plane = 16 * 16;
            Assert.AreEqual(input[0], input[plane], 1e-6, "grayscale: R = G");
            Assert.AreEqual(input[0], input[2 * plane], 1e-6, "grayscale: G = B");
            Assert.AreEqual(120 / 255f, input[0], 2 / 255f);
            Assert.AreEqual(220 / 255f, input[2 * pre.Length + plane], 2 / 255f, "16-bit green channel");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void MissingEmptyTruncatedAndGarbageFilesAreNamed()
    {
        string folder = NewFolder();
        try
        {
            string good = Write(folder, "good.png", SKColorType.Rgba8888, SKColors.Red);
            byte[] png = File.ReadAllBytes(good);
            string empty = Path.Combine(folder, "empty.png");
            File.WriteAllBytes(empty, []);
            string truncated = Path.Combine(folder, "truncated.png");
            File.WriteAllBytes(truncated, png.Take(20).ToArray());
            string garbage = Path.Combine(folder, "garbage.jpg");
            File.WriteAllText(garbage, "definitely not a jpeg");
            // Over the size read for one image: a sparse file, so nothing is written to the disk.
            string huge = Path.Combine(folder, "huge.png");
            using (FileStream stream = File.Create(huge))
            {
                stream.SetLength(ImageDecoder.MaxFileBytes + 1);
            }
            var pre = new ImagePreprocessor(new MLContext(seed: 0), ImagePreprocessing.Unnormalized(16));
            foreach (string bad in new[] { Path.Combine(folder, "missing.png"), folder, empty, truncated, garbage, huge })
            {
                var e = Assert.ThrowsExactly<InvalidOperationException>(() => pre.Fill([good, bad], new float[2 * pre.Length]));
                StringAssert.Contains(e.Message, bad);
            }
            StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => pre.Fill([huge], new float[pre.Length])).Message, "refused before reading");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void ADecompressionBombIsRefusedFromItsHeader()
    {
        string folder = NewFolder();
        try
        {
            string bomb = Path.Combine(folder, "bomb.png");
            File.WriteAllBytes(bomb, TinyPngDeclaring(60000, 60000));
            Assert.IsLessThan(200, new FileInfo(bomb).Length, "a few bytes on disk");
            var pre = new ImagePreprocessor(new MLContext(seed: 0), ImagePreprocessing.Unnormalized(16));
            long before = GC.GetTotalAllocatedBytes();
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => pre.Fill([bomb], new float[pre.Length]));
            StringAssert.Contains(e.Message, "60000 x 60000");
            StringAssert.Contains(e.Message, bomb);
            Assert.IsLessThan(100_000_000, GC.GetTotalAllocatedBytes() - before, "nothing near 14 GB was allocated");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Write(string folder, string name, SKColorType type, SKColor color, SKAlphaType alpha = SKAlphaType.Opaque)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(24, 20, type, alpha));
        bitmap.Erase(color);
        string path = Path.Combine(folder, name);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>A 16-bit-per-channel RGB PNG of one colour (SkiaSharp does not encode 16-bit PNGs).</summary>
    private static byte[] Png16(int width, int height, ushort r, ushort g, ushort b)
    {
        var raw = new byte[height * (1 + width * 6)];
        for (int y = 0; y < height; y++)
        {
            int row = y * (1 + width * 6);   // filter byte 0 (none), then big-endian samples
            for (int x = 0; x < width; x++)
            {
                Span<byte> px = raw.AsSpan(row + 1 + x * 6, 6);
                BinaryPrimitives.WriteUInt16BigEndian(px, r);
                BinaryPrimitives.WriteUInt16BigEndian(px[2..], g);
                BinaryPrimitives.WriteUInt16BigEndian(px[4..], b);
            }
        }
        return Png(width, height, bitDepth: 16, raw);
    }

    /// <summary>A valid PNG signature and IHDR declaring the size, one tiny IDAT, IEND.</summary>
    private static byte[] TinyPngDeclaring(int width, int height) => Png(width, height, bitDepth: 8, new byte[1024]);

    private static byte[] Png(int width, int height, byte bitDepth, byte[] raw)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = 2;   // RGB
        Chunk(png, "IHDR", ihdr);
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(raw);
        }
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        byte[] typed = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(length, Testing.PngBytes.Crc(typed));
        png.Write(length);
    }
}
