using System.Globalization;
using System.Text;
using Miil.ML.IO;
using SkiaSharp;

namespace Miil.ML.Datasets;

/// <summary>
/// The built-in multi-label image set: coloured shapes (circle, square, triangle, cross, ring, star;
/// rotated, so shapes are told apart by form, not orientation) on gradient backgrounds, one class per
/// (colour, shape) pair, 1-5 objects per image that may occlude each other, background clutter and
/// pixel noise, and skewed class frequencies so that positives are rare as in COCO. Deterministic:
/// image i depends only on the options and i, so any subset can be regenerated.
/// </summary>
/// <remarks>
/// Written as PNG files plus a CSV manifest (<c>ImagePath,Labels</c>, labels separated by ';'), the
/// form <c>mlContext.MultiLabel().MapLabels</c> and the trainer read; or produced in memory.
/// </remarks>
public static class SyntheticShapes
{
    private static readonly string[] Shapes = ["circle", "square", "triangle", "cross", "ring", "star"];

    private static readonly (string Name, SKColor Color)[] Colours =
    [
        ("red", new SKColor(220, 40, 40)), ("green", new SKColor(40, 170, 60)), ("blue", new SKColor(40, 80, 220)),
        ("yellow", new SKColor(235, 200, 30)), ("purple", new SKColor(150, 50, 180)),
    ];

    /// <summary>Classes available: every (colour, shape) pair.</summary>
    public const int MaxClasses = 30;

    /// <summary>
    /// The class names for <paramref name="classCount"/> classes, in class order ("red circle",
    /// "green square", ...): colours and shapes interleave so that early classes differ in both.
    /// </summary>
    public static IReadOnlyList<string> ClassNames(int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classCount, MaxClasses);
        return Enumerable.Range(0, classCount).Select(k => $"{Colours[ColourOf(k)].Name} {Shapes[ShapeOf(k)]}").ToList();
    }

    /// <summary>One generated image.</summary>
    /// <param name="Index">Position in the set.</param>
    /// <param name="Png">The image, PNG-encoded RGB.</param>
    /// <param name="Labels">Distinct class names present, in class order.</param>
    public sealed record Image(int Index, byte[] Png, IReadOnlyList<string> Labels);

    /// <summary>Generates image <paramref name="index"/> of the set the options describe.</summary>
    public static Image Generate(SyntheticShapesOptions options, int index)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Random random = StableRandom.Create(options.Seed, index, 0x5eed);
        double[] cumulative = ClassWeights(options);
        int size = options.ImageSize;

        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            DrawBackground(canvas, random, size, options.Clutter);
            int objects = random.Next(options.MinObjects, options.MaxObjects + 1);
            var present = new SortedSet<int>();
            for (int o = 0; o < objects; o++)
            {
                int k = Sample(cumulative, random);
                present.Add(k);
                DrawObject(canvas, random, size, k);
            }
            var names = ClassNames(options.ClassCount);
            ApplyNoise(bitmap, random, options.Noise);
            using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            return new Image(index, png.ToArray(), present.Select(k => names[k]).ToList());
        }
    }

    /// <summary>All images of the set, generated in parallel, in index order.</summary>
    public static IReadOnlyList<Image> GenerateAll(SyntheticShapesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var images = new Image[options.Count];
        Parallel.For(0, options.Count, i => images[i] = Generate(options, i));
        return images;
    }

    /// <summary>
    /// Writes the set as <c>images/NNNNN.png</c> plus <c>labels.csv</c> (<c>ImagePath,Labels</c>, paths
    /// relative to <paramref name="directory"/>) and returns the manifest's path. Files are written
    /// through temporary names and renamed; an existing manifest is replaced only by a complete one.
    /// </summary>
    public static string Write(SyntheticShapesOptions options, string directory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options.Validate();
        string images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        var lines = new string[options.Count];
        Parallel.For(0, options.Count, i =>
        {
            Image image = Generate(options, i);
            string relative = $"images/{i:D5}.png";
            AtomicFile.Write(Path.Combine(directory, relative), stream => stream.Write(image.Png));
            lines[i] = $"{relative},{Quote(string.Join(';', image.Labels))}";
        });
        string manifest = Path.Combine(directory, "labels.csv");
        AtomicFile.Write(manifest, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            writer.WriteLine("ImagePath,Labels");
            foreach (string line in lines)
            {
                writer.WriteLine(line);
            }
        });
        return manifest;
    }

    private static int ColourOf(int k) => k % Colours.Length;

    // 5 colours and 6 shapes are coprime, so k -> (k mod 5, k mod 6) is a one-to-one map of 0..29
    // (Chinese remainder theorem), and neighbouring classes differ in both colour and shape.
    private static int ShapeOf(int k) => k % Shapes.Length;

    private static double[] ClassWeights(SyntheticShapesOptions options)
    {
        var cumulative = new double[options.ClassCount];
        double sum = 0;
        for (int k = 0; k < options.ClassCount; k++)
        {
            sum += 1 / Math.Pow(k + 1, options.Skew);
            cumulative[k] = sum;
        }
        for (int k = 0; k < cumulative.Length; k++)
        {
            cumulative[k] /= sum;
        }
        return cumulative;
    }

    private static int Sample(double[] cumulative, Random random)
    {
        double u = random.NextDouble();
        int k = Array.BinarySearch(cumulative, u);
        return Math.Min(k >= 0 ? k : ~k, cumulative.Length - 1);
    }

    private static void DrawBackground(SKCanvas canvas, Random random, int size, int clutter)
    {
        byte Light() => (byte)random.Next(170, 246);
        using var gradient = SKShader.CreateLinearGradient(
            new SKPoint(0, 0), new SKPoint(size, size),
            [new SKColor(Light(), Light(), Light()), new SKColor(Light(), Light(), Light())], SKShaderTileMode.Clamp);
        using var fill = new SKPaint { Shader = gradient };
        canvas.DrawRect(0, 0, size, size, fill);
        using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke };
        for (int i = 0; i < clutter; i++)
        {
            byte gray = (byte)random.Next(90, 200);
            stroke.Color = new SKColor(gray, gray, gray);
            stroke.StrokeWidth = (float)(0.5 + random.NextDouble() * size / 40.0);
            canvas.DrawLine(Point(random, size), Point(random, size), stroke);
        }
    }

    private static SKPoint Point(Random random, int size) => new((float)(random.NextDouble() * size), (float)(random.NextDouble() * size));

    private static void DrawObject(SKCanvas canvas, Random random, int size, int k)
    {
        SKColor baseColour = Colours[ColourOf(k)].Color;
        int Jitter(byte v) => Math.Clamp(v + random.Next(-25, 26), 0, 255);
        using var paint = new SKPaint
        {
            IsAntialias = true,
            Color = new SKColor((byte)Jitter(baseColour.Red), (byte)Jitter(baseColour.Green), (byte)Jitter(baseColour.Blue)),
            Style = SKPaintStyle.Fill,
        };
        float radius = (float)(size * (0.10 + random.NextDouble() * 0.12));
        float cx = (float)(radius + random.NextDouble() * (size - 2 * radius));
        float cy = (float)(radius + random.NextDouble() * (size - 2 * radius));
        canvas.Save();
        canvas.Translate(cx, cy);
        canvas.RotateDegrees((float)(random.NextDouble() * 360));
        switch (Shapes[ShapeOf(k)])
        {
            case "circle":
                canvas.DrawCircle(0, 0, radius, paint);
                break;
            case "square":
                canvas.DrawRect(-radius * 0.85f, -radius * 0.85f, radius * 1.7f, radius * 1.7f, paint);
                break;
            case "triangle":
                canvas.DrawPath(Polygon(radius, 3), paint);
                break;
            case "star":
                canvas.DrawPath(Polygon(radius, 5, inner: 0.45f), paint);
                break;
            case "cross":
                canvas.DrawRect(-radius, -radius * 0.3f, radius * 2, radius * 0.6f, paint);
                canvas.DrawRect(-radius * 0.3f, -radius, radius * 0.6f, radius * 2, paint);
                break;
            case "ring":
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = radius * 0.4f;
                canvas.DrawCircle(0, 0, radius * 0.8f, paint);
                break;
        }
        canvas.Restore();
    }

    /// <summary>A regular polygon, or a star when <paramref name="inner"/> (the inner radius as a fraction) is given.</summary>
    private static SKPath Polygon(float radius, int corners, float? inner = null)
    {
        var path = new SKPath();
        int points = inner is null ? corners : 2 * corners;
        for (int i = 0; i < points; i++)
        {
            double angle = 2 * Math.PI * i / points - Math.PI / 2;
            float r = inner is float f && i % 2 == 1 ? radius * f : radius;
            var p = new SKPoint((float)(r * Math.Cos(angle)), (float)(r * Math.Sin(angle)));
            if (i == 0)
            {
                path.MoveTo(p);
            }
            else
            {
                path.LineTo(p);
            }
        }
        path.Close();
        return path;
    }

    private static unsafe void ApplyNoise(SKBitmap bitmap, Random random, double sigma)
    {
        if (sigma <= 0)
        {
            return;
        }
        var pixels = new Span<byte>((void*)bitmap.GetPixels(), bitmap.ByteCount);
        for (int i = 0; i < pixels.Length; i += 4)
        {
            for (int c = 0; c < 3; c++)
            {
                // Box-Muller from the image's own generator keeps the set deterministic.
                double g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                pixels[i + c] = (byte)Math.Clamp(pixels[i + c] + g * sigma, 0, 255);
            }
        }
    }

    private static string Quote(string field)
        => field.Contains(',') || field.Contains('"') ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
