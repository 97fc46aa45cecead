using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Miil.ML.Benchmarks.Photos;

/// <summary>
/// A multi-label task made of real photographs: cut-outs of real objects and animals (Tux Paint's
/// photographic stamps, 16 classes) pasted onto crops of real landscape and texture photographs, one
/// to three classes per image. Held-out images use other object instances (whole near-duplicate groups)
/// and other background photographs than the training images, so a model must recognise a class, not
/// remember a picture. Copy-paste compositing, as copy-paste augmentation does it: the objects are real
/// photographs, the scenes are not.
/// </summary>
/// <remarks>
/// Every cut-out is first brought to one size (<see cref="CutoutSide"/> on its long side) and every
/// composite ends with a mild blur and a JPEG re-encode: the stamps come at very different resolutions
/// (fruit around 70 px, instruments around 300), and without this the sharpness of an object would tell
/// its class. The data comes from build/photo-data/fetch.sh.
/// </remarks>
internal static class PhotoComposites
{
    /// <summary>Long side every cut-out is resampled to before it is placed.</summary>
    private const int CutoutSide = 64;

    /// <summary>Background photographs decoded at about this short side (crops are taken from it).</summary>
    private const int BackgroundShortSide = 720;

    /// <summary>Share of each class's near-duplicate groups held out (at least one; at least two from eight instances).</summary>
    private const double HeldOutShare = 0.28;

    /// <summary>Background photographs held out of the 27.</summary>
    private const int HeldOutBackgrounds = 7;

    private sealed record Stamp(string Class, string Group, SKBitmap Bitmap);

    /// <summary>The 16 class names, in the order of stamps.tsv.</summary>
    public static IReadOnlyList<string> ClassNames(string dataFolder)
        => ReadStampList(dataFolder).Select(s => s.Class).Distinct().ToArray();

    /// <summary>
    /// Writes <paramref name="train"/> training and <paramref name="test"/> held-out composites of
    /// <paramref name="size"/> px into <paramref name="outFolder"/> (train/, test/) with train.tsv and
    /// test.tsv (<c>ImagePath</c>, <c>Labels</c> separated by ';'), and returns the two manifests' paths.
    /// The same arguments give the same files.
    /// </summary>
    public static (string Train, string Test) Write(string dataFolder, string outFolder, int train, int test, int size, int seed)
    {
        var rows = ReadStampList(dataFolder);
        var random = new Random(seed);
        List<Stamp> stamps = rows.Select(r => new Stamp(r.Class, r.Group, Normalise(Path.Combine(dataFolder, "stamps", r.Class, r.File)))).ToList();
        try
        {
            (List<Stamp> trainStamps, List<Stamp> testStamps) = SplitStamps(stamps, random);
            string[] backgrounds = Directory.GetFiles(Path.Combine(dataFolder, "backgrounds"), "*.jpg").Order(StringComparer.Ordinal).ToArray();
            if (backgrounds.Length <= HeldOutBackgrounds)
            {
                throw new InvalidDataException($"{Path.Combine(dataFolder, "backgrounds")} holds {backgrounds.Length} photographs; run build/photo-data/fetch.sh.");
            }
            string[] shuffled = backgrounds.OrderBy(_ => random.Next()).ToArray();
            string[] classes = stamps.Select(s => s.Class).Distinct().ToArray();
            string trainManifest = WriteSplit(outFolder, "train", train, size, classes, trainStamps, shuffled[HeldOutBackgrounds..], seed * 2 + 1);
            string testManifest = WriteSplit(outFolder, "test", test, size, classes, testStamps, shuffled[..HeldOutBackgrounds], seed * 2 + 2);
            return (trainManifest, testManifest);
        }
        finally
        {
            foreach (Stamp stamp in stamps)
            {
                stamp.Bitmap.Dispose();
            }
        }
    }

    private static List<(string Class, string File, string Group)> ReadStampList(string dataFolder)
    {
        string list = Path.Combine(dataFolder, "stamps.tsv");
        if (!File.Exists(list))
        {
            throw new FileNotFoundException($"No photo data in '{dataFolder}' (stamps.tsv is missing): run build/photo-data/fetch.sh '{dataFolder}' first.", list);
        }
        return File.ReadLines(list)
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t'))
            .Select(f => (f[0], f[1].Replace('/', '_'), f[2]))
            .ToList();
    }

    /// <summary>Per class, whole near-duplicate groups to the held-out side until its share is reached.</summary>
    private static (List<Stamp> Train, List<Stamp> Test) SplitStamps(List<Stamp> stamps, Random random)
    {
        var train = new List<Stamp>();
        var test = new List<Stamp>();
        foreach (IGrouping<string, Stamp> cls in stamps.GroupBy(s => s.Class))
        {
            int count = cls.Count();
            int heldOut = Math.Max(count >= 8 ? 2 : 1, (int)Math.Round(HeldOutShare * count));
            int taken = 0;
            foreach (IGrouping<string, Stamp> group in cls.GroupBy(s => s.Group).OrderBy(g => g.Key, StringComparer.Ordinal).OrderBy(_ => random.Next()))
            {
                bool hold = taken < heldOut && count - taken - group.Count() >= 1;
                (hold ? test : train).AddRange(group);
                taken += hold ? group.Count() : 0;
            }
        }
        return (train, test);
    }

    private static string WriteSplit(string outFolder, string split, int count, int size, string[] classes, List<Stamp> stamps, string[] backgroundFiles, int seed)
    {
        string folder = Path.Combine(outFolder, split);
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var byClass = classes.ToDictionary(c => c, c => stamps.Where(s => s.Class == c).ToArray());
        var manifest = new StringBuilder("ImagePath\tLabels\n");
        List<SKBitmap> backgrounds = backgroundFiles.Select(DecodeReduced).ToList();
        try
        {
            for (int i = 0; i < count; i++)
            {
                int objects = random.NextDouble() switch { < 0.4 => 1, < 0.75 => 2, _ => 3 };
                string[] chosen = classes.OrderBy(_ => random.Next()).Take(objects).ToArray();
                string name = $"{split}-{i:D5}.jpg";
                File.WriteAllBytes(Path.Combine(folder, name), Compose(size, random, backgrounds[random.Next(backgrounds.Count)], chosen.Select(c => byClass[c][random.Next(byClass[c].Length)]).ToArray()));
                manifest.Append(split).Append('/').Append(name).Append('\t').AppendJoin(';', chosen.Order(StringComparer.Ordinal)).Append('\n');
            }
        }
        finally
        {
            foreach (SKBitmap background in backgrounds)
            {
                background.Dispose();
            }
        }
        string path = Path.Combine(outFolder, split + ".tsv");
        File.WriteAllText(path, manifest.ToString());
        return path;
    }

    /// <summary>One composite: a square crop of 15-50% of a background's area, the objects at 35-60% of the side, flipped, turned up to 15 degrees, lit 0.8-1.2, then blurred a little and saved as JPEG at quality 75-90.</summary>
    private static byte[] Compose(int size, Random random, SKBitmap background, Stamp[] objects)
    {
        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        using var canvasBitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(canvasBitmap))
        {
            double area = 0.15 + 0.35 * random.NextDouble();
            int side = (int)Math.Min(Math.Sqrt(area * background.Width * background.Height), Math.Min(background.Width, background.Height));
            int x = random.Next(background.Width - side + 1), y = random.Next(background.Height - side + 1);
            using (SKImage backgroundImage = SKImage.FromBitmap(background))
            {
                canvas.DrawImage(backgroundImage, new SKRect(x, y, x + side, y + side), new SKRect(0, 0, size, size), sampling);
            }
            foreach (Stamp stamp in objects)
            {
                float longSide = (float)((0.35 + 0.25 * random.NextDouble()) * size);
                float scale = longSide / Math.Max(stamp.Bitmap.Width, stamp.Bitmap.Height);
                float w = stamp.Bitmap.Width * scale, h = stamp.Bitmap.Height * scale;
                float cx = (float)(w / 2 + random.NextDouble() * (size - w)), cy = (float)(h / 2 + random.NextDouble() * (size - h));
                float light = (float)(0.8 + 0.4 * random.NextDouble());
                using var paint = new SKPaint
                {
                    ColorFilter = SKColorFilter.CreateColorMatrix(
                    [
                        light, 0, 0, 0, 0,
                        0, light, 0, 0, 0,
                        0, 0, light, 0, 0,
                        0, 0, 0, 1, 0,
                    ]),
                };
                canvas.Save();
                canvas.Translate(cx, cy);
                canvas.RotateDegrees((float)(30 * random.NextDouble() - 15));
                canvas.Scale(random.Next(2) == 0 ? -1 : 1, 1);
                using SKImage image = SKImage.FromBitmap(stamp.Bitmap);
                canvas.DrawImage(image, new SKRect(-w / 2, -h / 2, w / 2, h / 2), sampling, paint);
                canvas.Restore();
            }
        }
        using var blurred = new SKBitmap(canvasBitmap.Info);
        using (var canvas = new SKCanvas(blurred))
        using (var blur = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(0.5f, 0.5f, SKShaderTileMode.Clamp) })
        {
            canvas.DrawBitmap(canvasBitmap, 0, 0, blur);
        }
        using SKData jpeg = blurred.Encode(SKEncodedImageFormat.Jpeg, 75 + random.Next(16));
        return jpeg.ToArray();
    }

    /// <summary>A cut-out resampled to <see cref="CutoutSide"/> on its long side, its alpha eroded by one pixel (hides the halo of the cut).</summary>
    private static SKBitmap Normalise(string path)
    {
        using SKBitmap decoded = SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode.");
        using SKBitmap rgba = decoded.Copy(SKColorType.Rgba8888) ?? throw new InvalidDataException($"'{path}' cannot be converted to RGBA.");
        float scale = (float)CutoutSide / Math.Max(rgba.Width, rgba.Height);
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(rgba.Width * scale)), Math.Max(1, (int)Math.Round(rgba.Height * scale)), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        SKBitmap resized = rgba.Resize(info, new SKSamplingOptions(SKCubicResampler.Mitchell)) ?? throw new InvalidDataException($"'{path}' cannot be resized.");
        ErodeAlpha(resized);
        return resized;
    }

    private static void ErodeAlpha(SKBitmap bitmap)
    {
        int w = bitmap.Width, h = bitmap.Height;
        Span<byte> pixels = bitmap.GetPixelSpan();
        byte[] alpha = new byte[w * h];
        for (int i = 0; i < alpha.Length; i++)
        {
            alpha[i] = pixels[i * 4 + 3];
        }
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                byte least = alpha[y * w + x];
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int yy = y + dy, xx = x + dx;
                        least = yy < 0 || yy >= h || xx < 0 || xx >= w ? (byte)0 : Math.Min(least, alpha[yy * w + xx]);
                    }
                }
                pixels[(y * w + x) * 4 + 3] = least;
            }
        }
    }

    /// <summary>A background photograph decoded at about <see cref="BackgroundShortSide"/> on its short side (the codec scales while decoding JPEG).</summary>
    private static SKBitmap DecodeReduced(string path)
    {
        using SKCodec codec = SKCodec.Create(path) ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode.");
        float scale = Math.Min(1f, (float)BackgroundShortSide / Math.Min(codec.Info.Width, codec.Info.Height));
        SKSizeI dimensions = codec.GetScaledDimensions(scale);
        var info = new SKImageInfo(dimensions.Width, dimensions.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            bitmap.Dispose();
            throw new InvalidDataException($"'{path}': {result}.");
        }
        return bitmap;
    }

}
